/**
 * `@strata-iot/sdk/access` — owner-only access tokens with shifts: signed access requests, their
 * checks, and the `AccessTokens` client (docs/access.md).
 */
export {
  ACCESS_DOMAIN_NAME,
  ACCESS_DOMAIN_VERSION,
  ACCESS_REQUEST_TYPES,
  accessDomain,
  type AccessGrant,
  type AccessPolicy,
  type AccessRequest,
  type AccessRequestInput,
  accessRequestDigest,
  accessScope,
  checkAccessRequest,
  checkAccessRequestShape,
  checkAccount,
  checkTokenId,
  DEFAULT_ACCESS_POLICY,
  newAccessRequest,
  type NonceCache,
  type ShiftFacts,
  signAccessRequest,
  signAccessRequestP256,
} from "../core/access.ts";
export {
  ACCESS_EVENTS,
  type AccessHistoryRange,
  AccessTokensClient,
  parseAccessReceipt,
  type Shift,
  type TokenState,
  type VerifyAccessOptions,
} from "../contracts/access.ts";
