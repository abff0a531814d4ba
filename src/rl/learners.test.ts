import { describe, expect, it } from "vitest";
import { ADVANTAGE_NAMES } from "./advantages.js";
import { LEARNER_NAMES, LEARNERS } from "./learners.js";
import { POLICY_LOSS_NAMES } from "./losses.js";

describe("learners", () => {
  it("name registered advantages and losses; RAFT-style learners train on accepted responses only", () => {
    expect(LEARNER_NAMES).toEqual(["raft", "raftpp", "grpo"]);
    for (const name of LEARNER_NAMES) {
      expect(ADVANTAGE_NAMES).toContain(LEARNERS[name].advantage);
      expect(POLICY_LOSS_NAMES).toContain(LEARNERS[name].loss);
    }
    expect(LEARNERS.raft.acceptedOnly && LEARNERS.raftpp.acceptedOnly).toBe(true);
    expect(LEARNERS.grpo.acceptedOnly).toBe(false);
  });
});
