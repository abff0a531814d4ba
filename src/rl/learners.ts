/**
 * The learners by name, as verl's core_algos names its estimators: which
 * advantage, which policy loss, and whether only accepted responses are
 * trained on. RAFT is rejection sampling then fine-tuning (-log pi on the
 * accepted responses); RAFT++ keeps RAFT's samples and adds PPO's clipped
 * importance ratio; GRPO trains on every response of a group with
 * group-normalised advantages.
 */
import type { AdvantageName } from "./advantages.js";
import type { PolicyLossName } from "./losses.js";

export type LearnerName = "raft" | "raftpp" | "grpo";

export interface Learner {
  advantage: AdvantageName;
  loss: PolicyLossName;
  /** Train only on responses with reward 1 (rejection sampling). */
  acceptedOnly: boolean;
}

export const LEARNERS: Readonly<Record<LearnerName, Learner>> = {
  raft: { advantage: "raft", loss: "vanilla", acceptedOnly: true },
  raftpp: { advantage: "raft", loss: "plusplus", acceptedOnly: true },
  grpo: { advantage: "grpo", loss: "plusplus", acceptedOnly: false },
};

export const LEARNER_NAMES = Object.keys(LEARNERS) as LearnerName[];
