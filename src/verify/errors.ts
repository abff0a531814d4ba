/**
 * The verifier's typed errors. They travel inside one verify() call and
 * become verdicts there ("unparsable", "too-large", an undefined point that
 * is skipped); they are GvmErrors so that a caller using the parser or the
 * arithmetic directly gets a message naming the operation and the operands.
 */
import { GvmError } from "../util/errors.js";

/** The answer text could not be read as mathematics; verify() reports it as "unparsable". */
export class AnswerParseError extends GvmError {}

/**
 * The answer is past a size bound (length, nesting, a numeral's exponent):
 * it is refused unread, as "too-large", rather than read in part.
 */
export class AnswerTooLarge extends AnswerParseError {}

/** A value that has no defined result (division by zero, log of zero, overflow). */
export class NumericDomainError extends GvmError {}

/**
 * An exact value would pass a size guard (bits, factorial, sum terms). The
 * numeric tier may still prove the two sides unequal, never equal: agreement
 * to 128 or 512 bits says nothing about numbers of 65536 bits.
 */
export class ExactTooLarge extends GvmError {}
