/**
 * Sigchain links: canonical encoding, signing and decoding (docs/sigchain.md §2–§3).
 *
 *   link    = version=0x01 | suite=0x01 | type u8 | userId str16 | seqno u32 | prev [32]
 *             | time u64 (ms since epoch) | signer [32] (key id) | body bytes32
 *             | count u8 | count × (key id [32] | Ed25519 signature [64])
 *   signed  = everything before `count`, signed with context "sigchain-link"
 *   hash    = SHA-256("sealmail/v1/sigchain-link" 0x00 | whole link)
 *
 * The first signature is the signer's. Links that introduce keys carry one more signature per
 * new key, made with that key: nobody can put someone else's key into a chain.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { abytes, aint, astring, concat, utf8 } from '../_util';
import { ByteReader, ByteWriter, readHeader } from '../encoding';
import { CryptoError } from '../errors';
import { signWithContext, verifyWithContext } from '../ed25519';
import { decodePublicKeys, encodePublicKeys, keyId, type KeySet, type PublicKeys } from '../keys';

export const SIGCHAIN = Object.freeze({ version: 0x02, suite: 0x01, context: 'sigchain-link', maxBody: 16384, maxSignatures: 4 });

export enum LinkType {
  Root = 1,
  DeviceAdd = 2,
  DeviceApprove = 3,
  DeviceRevoke = 4,
  PukRotate = 5,
  BackupAdd = 6,
  EscrowAdd = 7,
  EscrowRemove = 8,
  DeviceRequest = 9,
  DelegateGrant = 10,
  DelegateRevoke = 11,
}

/** What a delegate may do with a mailbox (docs/sigchain.md §3.2): bit 0 read, bit 1 send as. */
export enum DelegateRights {
  Read = 1,
  ReadAndSend = 3,
}

/** A grant as the manager's device signed it: who (user id, address, and their chain as verified then) and what. */
export interface DelegateEntry {
  userId: string;
  address: string;
  /** The delegate's key history as the granting device verified it. */
  chain: { length: number; head: Uint8Array };
  rights: DelegateRights;
}

export type DeviceKind = 'browser' | 'cli' | 'backup' | 'escrow';
const KINDS: readonly DeviceKind[] = ['browser', 'cli', 'backup', 'escrow'];

export interface DeviceEntry {
  name: string;
  kind: DeviceKind;
  keys: PublicKeys;
}

export interface PukEntry {
  generation: number;
  keys: PublicKeys;
}

/** What a link says, by type. */
export type LinkBody =
  | { type: LinkType.Root; device: DeviceEntry; puk: PukEntry }
  | { type: LinkType.DeviceAdd; device: DeviceEntry; puk: PukEntry }
  | { type: LinkType.DeviceApprove; deviceId: Uint8Array; puk: PukEntry }
  | { type: LinkType.DeviceRevoke; deviceId: Uint8Array; puk: PukEntry }
  | { type: LinkType.PukRotate; puk: PukEntry }
  | { type: LinkType.BackupAdd; device: DeviceEntry }
  | { type: LinkType.EscrowAdd; device: DeviceEntry; accountId: string; certificate: Uint8Array }
  | { type: LinkType.EscrowRemove; deviceId: Uint8Array; puk: PukEntry }
  | { type: LinkType.DeviceRequest; device: DeviceEntry }
  | { type: LinkType.DelegateGrant; delegate: DelegateEntry }
  | { type: LinkType.DelegateRevoke; delegateUserId: string; puk: PukEntry };

export interface Link {
  userId: string;
  seqno: number;
  prev: Uint8Array;
  time: number;
  signer: Uint8Array;
  body: LinkBody;
  signatures: { keyId: Uint8Array; signature: Uint8Array }[];
  /** The signed bytes (everything before the signatures). */
  payload: Uint8Array;
  /** The whole encoded link. */
  bytes: Uint8Array;
  hash: Uint8Array;
}

export const ZERO_HASH = new Uint8Array(32);

export function hashLink(bytes: Uint8Array): Uint8Array {
  return sha256(concat(utf8('sealmail/v1/sigchain-link\0'), bytes));
}

function writeDevice(w: ByteWriter, d: DeviceEntry): void {
  w.str(astring(d.name, 'device name', 128));
  const k = KINDS.indexOf(d.kind);
  if (k < 0) throw new CryptoError('INVALID_INPUT', `"device kind" expected one of ${KINDS.join(', ')}`);
  w.u8(k).raw(encodePublicKeys(d.keys));
}
function readDevice(r: ByteReader): DeviceEntry {
  const name = r.str();
  const kind = KINDS[r.u8()];
  if (!kind) throw new CryptoError('MALFORMED', 'sigchain link: unknown device kind');
  return { name, kind, keys: decodePublicKeys(Uint8Array.from(r.raw(1250))) };
}
function writePuk(w: ByteWriter, p: PukEntry): void {
  w.u32(aint(p.generation, 'generation', 0xffffffff)).raw(encodePublicKeys(p.keys));
}
function readPuk(r: ByteReader): PukEntry {
  return { generation: r.u32(), keys: decodePublicKeys(Uint8Array.from(r.raw(1250))) };
}

function writeDelegate(w: ByteWriter, d: DelegateEntry): void {
  if (d.rights !== DelegateRights.Read && d.rights !== DelegateRights.ReadAndSend) throw new CryptoError('INVALID_INPUT', '"rights" expected 1 (read) or 3 (read and send as)');
  w.str(astring(d.userId, 'delegate userId', 128)).str(astring(d.address, 'delegate address', 320));
  w.u32(aint(d.chain.length, 'delegate chain length', 0xffffffff)).raw(abytes(d.chain.head, 'delegate chain head', 32)).u8(d.rights);
}
function readDelegate(r: ByteReader): DelegateEntry {
  const userId = r.str();
  const address = r.str();
  const chain = { length: r.u32(), head: Uint8Array.from(r.raw(32)) };
  const rights = r.u8();
  if (rights !== DelegateRights.Read && rights !== DelegateRights.ReadAndSend) throw new CryptoError('MALFORMED', 'sigchain link: unknown delegate rights');
  return { userId, address, chain, rights };
}

function encodeBody(b: LinkBody): Uint8Array {
  const w = new ByteWriter();
  switch (b.type) {
    case LinkType.Root:
    case LinkType.DeviceAdd:
      writeDevice(w, b.device);
      writePuk(w, b.puk);
      break;
    case LinkType.DeviceApprove:
    case LinkType.DeviceRevoke:
    case LinkType.EscrowRemove:
      w.raw(abytes(b.deviceId, 'deviceId', 32));
      writePuk(w, b.puk);
      break;
    case LinkType.PukRotate:
      writePuk(w, b.puk);
      break;
    case LinkType.BackupAdd:
    case LinkType.DeviceRequest:
      writeDevice(w, b.device);
      break;
    case LinkType.EscrowAdd:
      writeDevice(w, b.device);
      w.str(astring(b.accountId, 'accountId', 255)).raw(abytes(b.certificate, 'certificate', 64));
      break;
    case LinkType.DelegateGrant:
      writeDelegate(w, b.delegate);
      break;
    case LinkType.DelegateRevoke:
      w.str(astring(b.delegateUserId, 'delegateUserId', 128));
      writePuk(w, b.puk);
      break;
  }
  return w.finish();
}

function decodeBody(type: number, bytes: Uint8Array): LinkBody {
  const r = new ByteReader(bytes);
  let body: LinkBody;
  switch (type) {
    case LinkType.Root:
    case LinkType.DeviceAdd:
      body = { type, device: readDevice(r), puk: readPuk(r) };
      break;
    case LinkType.DeviceApprove:
    case LinkType.DeviceRevoke:
    case LinkType.EscrowRemove:
      body = { type, deviceId: Uint8Array.from(r.raw(32)), puk: readPuk(r) };
      break;
    case LinkType.PukRotate:
      body = { type, puk: readPuk(r) };
      break;
    case LinkType.BackupAdd:
    case LinkType.DeviceRequest:
      body = { type, device: readDevice(r) };
      break;
    case LinkType.EscrowAdd:
      body = { type, device: readDevice(r), accountId: r.str(), certificate: Uint8Array.from(r.raw(64)) };
      break;
    case LinkType.DelegateGrant:
      body = { type, delegate: readDelegate(r) };
      break;
    case LinkType.DelegateRevoke:
      body = { type, delegateUserId: r.str(), puk: readPuk(r) };
      break;
    default:
      throw new CryptoError('MALFORMED', `sigchain link: unknown type ${type}`);
  }
  r.end();
  return body;
}

/**
 * The escrow key's certificate: its own signature, context "escrow-certificate", over
 * `0x01 | str(accountId) | bundle` — made once on an escrow admin's device when escrow is
 * enabled, carried by every user's escrow-add link (docs/sigchain.md §3).
 * @throws {CryptoError} INVALID_INPUT on a bad key or empty account id.
 */
export function escrowCertificate(escrow: KeySet, accountId: string): Uint8Array {
  return signWithContext(escrow.signing.secretKey, 'escrow-certificate', certificateMessage(accountId, publicKeysOfSet(escrow)));
}

/**
 * Checks an escrow certificate against the escrow device's public keys.
 * @throws {CryptoError} INVALID_INPUT when `accountId` is longer than 255 bytes.
 */
export function verifyEscrowCertificate(keys: PublicKeys, accountId: string, certificate: Uint8Array): boolean {
  if (certificate.length !== 64 || accountId.length === 0) return false;
  return verifyWithContext(keys.signingPublicKey, 'escrow-certificate', certificateMessage(accountId, keys), certificate);
}

/**
 * An escrow admin's endorsement of the account's escrow key: their device's signature, context
 * "escrow-endorsement", over `0x01 | str(accountId) | escrow key id [32]`. The certificate only
 * proves that someone holds the escrow key; the endorsement says which admin's device put it in
 * charge, so a user's client can check it against that admin's own key history before the
 * escrow device joins the user's chain (docs/sigchain.md §3.1).
 * @throws {CryptoError} INVALID_INPUT on a bad key, account id or escrow id.
 */
export function endorseEscrowKey(deviceSigningSecretKey: Uint8Array, accountId: string, escrowKeyId: Uint8Array): Uint8Array {
  return signWithContext(deviceSigningSecretKey, 'escrow-endorsement', endorsementMessage(accountId, escrowKeyId));
}

/** Checks an escrow endorsement against the endorsing device's signing key (from its verified chain). */
export function verifyEscrowEndorsement(deviceSigningPublicKey: Uint8Array, accountId: string, escrowKeyId: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64 || accountId.length === 0 || escrowKeyId.length !== 32) return false;
  return verifyWithContext(deviceSigningPublicKey, 'escrow-endorsement', endorsementMessage(accountId, escrowKeyId), signature);
}

function endorsementMessage(accountId: string, escrowKeyId: Uint8Array): Uint8Array {
  return new ByteWriter().u8(0x01).str(astring(accountId, 'accountId', 255)).raw(abytes(escrowKeyId, 'escrowKeyId', 32)).finish();
}

function certificateMessage(accountId: string, keys: PublicKeys): Uint8Array {
  return new ByteWriter().u8(0x01).str(astring(accountId, 'accountId', 255)).raw(encodePublicKeys(keys)).finish();
}

const publicKeysOfSet = (k: KeySet): PublicKeys => ({ signingPublicKey: k.signing.publicKey, encryptionPublicKey: k.encryption.publicKey });

/** The keys a link introduces, each of which must sign it (proof of possession). */
export function introducedKeys(body: LinkBody): PublicKeys[] {
  switch (body.type) {
    case LinkType.Root:
    case LinkType.DeviceAdd:
      return [body.device.keys, body.puk.keys];
    case LinkType.DeviceApprove:
    case LinkType.DeviceRevoke:
    case LinkType.EscrowRemove:
    case LinkType.PukRotate:
    case LinkType.DelegateRevoke:
      return [body.puk.keys];
    case LinkType.DelegateGrant:
      return [];
    case LinkType.BackupAdd:
    case LinkType.DeviceRequest:
      return [body.device.keys];
    // The escrow key is held by the account's escrow admins, not by the user: it proves
    // possession once, by its certificate in the body (escrowCertificate), not by a signature here.
    case LinkType.EscrowAdd:
      return [];
  }
}

/**
 * Makes and signs a link. `signer` is the acting device's key set; `newKeys` the secret halves of
 * the keys the link introduces (see {@link introducedKeys}), in that order.
 * @throws {CryptoError} INVALID_INPUT on malformed fields or missing new-key secrets.
 */
export function createLink(opts: {
  userId: string;
  seqno: number;
  prev: Uint8Array;
  time: number;
  signer: KeySet;
  body: LinkBody;
  newKeys?: KeySet[];
}): Link {
  const signerId = keyId({ signingPublicKey: opts.signer.signing.publicKey, encryptionPublicKey: opts.signer.encryption.publicKey });
  const body = encodeBody(opts.body);
  if (body.length > SIGCHAIN.maxBody) throw new CryptoError('INVALID_INPUT', '"body" too long');
  const payload = new ByteWriter()
    .u8(SIGCHAIN.version)
    .u8(SIGCHAIN.suite)
    .u8(opts.body.type)
    .str(astring(opts.userId, 'userId', 128))
    .u32(aint(opts.seqno, 'seqno', 0xffffffff))
    .raw(abytes(opts.prev, 'prev', 32))
    .u64(aint(opts.time, 'time'))
    .raw(signerId)
    .bytes32(body)
    .finish();
  const introduced = introducedKeys(opts.body);
  const signers: KeySet[] = [opts.signer];
  for (const k of introduced) {
    const id = keyId(k);
    if (equal(id, signerId)) continue; // a device adding itself signs once
    const secret = opts.newKeys?.find((n) => equal(keyId({ signingPublicKey: n.signing.publicKey, encryptionPublicKey: n.encryption.publicKey }), id));
    if (!secret) throw new CryptoError('INVALID_INPUT', '"newKeys" must hold the secret of every key the link introduces');
    signers.push(secret);
  }
  const w = new ByteWriter().raw(payload).u8(signers.length);
  const signatures = signers.map((s) => {
    const id = keyId({ signingPublicKey: s.signing.publicKey, encryptionPublicKey: s.encryption.publicKey });
    const signature = signWithContext(s.signing.secretKey, SIGCHAIN.context, payload);
    w.raw(id).raw(signature);
    return { keyId: id, signature };
  });
  const bytes = w.finish();
  void signatures;
  return decodeLink(bytes);
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Decodes a link strictly (no trailing bytes, known version/suite/type). Signatures are NOT
 * verified here; replaySigchain does that with the state they need.
 * @throws {CryptoError} MALFORMED, UNSUPPORTED_VERSION, UNSUPPORTED_SUITE.
 */
export function decodeLink(bytes: Uint8Array): Link {
  abytes(bytes, 'link');
  const r = new ByteReader(bytes);
  readHeader(r, SIGCHAIN.version, [SIGCHAIN.suite], 'sigchain link');
  const type = r.u8();
  const userId = r.str();
  const seqno = r.u32();
  const prev = Uint8Array.from(r.raw(32));
  const time = r.u64();
  const signer = Uint8Array.from(r.raw(32));
  const bodyBytes = r.bytes32();
  if (bodyBytes.length > SIGCHAIN.maxBody) throw new CryptoError('MALFORMED', 'sigchain link: body too long');
  const body = decodeBody(type, bodyBytes);
  const payloadLength = bytes.length - r.remaining;
  const count = r.u8();
  if (count < 1 || count > SIGCHAIN.maxSignatures) throw new CryptoError('MALFORMED', 'sigchain link: bad signature count');
  const signatures = [];
  for (let i = 0; i < count; i++) signatures.push({ keyId: Uint8Array.from(r.raw(32)), signature: Uint8Array.from(r.raw(64)) });
  r.end();
  return { userId, seqno, prev, time, signer, body, signatures, payload: bytes.slice(0, payloadLength), bytes: Uint8Array.from(bytes), hash: hashLink(bytes) };
}
