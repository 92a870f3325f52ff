export { SigchainError, type SigchainErrorCode } from './errors';
export { createLink, decodeLink, DelegateRights, type DelegateEntry, endorseEscrowKey, escrowCertificate, verifyEscrowEndorsement, hashLink, introducedKeys, verifyEscrowCertificate, LinkType, SIGCHAIN, ZERO_HASH, type DeviceEntry, type DeviceKind, type Link, type LinkBody, type PukEntry } from './link';
export { activeDelegation, delegationAt, type DelegationState, activeDevices, approvedDevices, currentPuk, deviceActiveAt, pinOf, replaySigchain, type DeviceState, type SigchainPin, type SigchainState } from './replay';
export { chainFingerprint, deviceFingerprint, safetyNumber } from './fingerprint';
export { SESSION_BINDING, signSessionBinding, verifySessionBinding, type SessionBinding } from './session';
