import { CODE, graphqlError } from '../errors.js';

/** Who is asking, as the schema sees it: a role and the runners they may see. */
export interface Principal {
  /**
   * What tells this principal from every other: derived from its token (its hash entry),
   * never from the display name, which two entries could share. Quotas and shared
   * executions are keyed on it (with the scope, see {@link principalKey}).
   */
  readonly id: string;
  /** The token's name, for display and messages only. */
  readonly name: string;
  readonly role: 'viewer' | 'operator';
  /** Glob patterns of the runner ids this principal may see. */
  readonly runners: readonly string[];
  /**
   * True for a token marked `adHoc: true`: it may run any document even where the server
   * runs only trusted documents (TRUSTED_DOCUMENTS=only), e.g. an operator in GraphiQL.
   */
  readonly adHoc?: boolean;
  allows(runnerId: string): boolean;
}

/** True when the principal may start and stop this runner. */
export function mayManage(principal: Principal, runnerId: string): boolean {
  return principal.role === 'operator' && principal.allows(runnerId);
}

/** Throws FORBIDDEN unless the principal may change runners, and this one. */
export function assertOperator(principal: Principal, runnerId: string): void {
  if (principal.role !== 'operator') {
    throw graphqlError(CODE.FORBIDDEN, `token "${principal.name}" is a viewer: starting and stopping runners needs an operator token`);
  }
  if (!principal.allows(runnerId)) {
    throw graphqlError(CODE.FORBIDDEN, `token "${principal.name}" may not manage runner "${runnerId}"`);
  }
}

/** True when the principal sees every runner (no need to filter). */
export function seesAll(principal: Principal): boolean {
  return principal.runners.includes('*');
}

/**
 * The key of everything kept per principal (subscription quotas, shared-execution
 * cohorts): its identity and its scope, so two principals with the same display name, or
 * one identity with a different scope, never share a stream or a quota.
 */
export function principalKey(principal: Principal): string {
  return `${principal.id}\u0000${principal.role}\u0000${principal.runners.join('\u0001')}`;
}
