/**
 * The typed API client shared by the web client, admin console and CLI. Requests and responses
 * are checked against the contract's zod schemas; errors arrive as `ApiClientError` carrying the
 * registry code from the server.
 */
import type { z } from 'zod';
import { accountRoutes as account, adminDiscoveryPiece, getSigchains, isErrorBody, mailRoutes as mail, routes, type ErrorCode, type FolderName, type RouteContract } from '@sealmail/contract';

export class ApiClientError extends Error {
  override readonly name = 'ApiClientError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'NETWORK' | 'BAD_RESPONSE',
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface ApiClientOptions {
  /** Base URL, e.g. `https://localhost:8443` or '' for same-origin in a browser. */
  baseUrl: string;
  fetch?: typeof fetch;
  /** Session token for `Authorization: Bearer` (the CLI). Browsers use the HttpOnly cookie instead. */
  token?: string;
}

/**
 * The largest JSON answer read (64 MiB, far above any route's): a server that answers without end
 * gets BAD_RESPONSE instead of the client's memory. Attachments and other bytes stream and are
 * bounded where they are read.
 */
export const MAX_JSON_ANSWER = 64 * 1024 * 1024;

/**
 * A response body as text, at most `max` bytes; a broken or silent connection while reading is
 * NETWORK, too much is BAD_RESPONSE (the rest is not read).
 */
async function boundedText(res: Response, max = MAX_JSON_ANSWER): Promise<string> {
  const tooLarge = () => new ApiClientError(res.status, 'BAD_RESPONSE', `the server's answer is larger than ${max / 1048576} MiB; not read further`);
  const declared = Number(res.headers.get('content-length'));
  if (declared > max) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let size = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (err) {
      throw new ApiClientError(0, 'NETWORK', `the connection broke while reading the server's answer: ${(err as Error).message}`);
    }
    if (chunk.done) return text + decoder.decode();
    size += chunk.value.length;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    text += decoder.decode(chunk.value, { stream: true });
  }
}

/** True in Node (the CLI, the tests), whose fetch (and `httpsFetch`) take byte bodies as they are. */
const inNode = typeof (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions?.node === 'string';

/**
 * A request body. In browsers large bytes go as a Blob: Chromium sent a 4 MiB Uint8Array body at
 * 15–25 MiB/s, and the same bytes wrapped in a Blob ten times faster (bench/transfer.bench.ts
 * `browser`, docs/performance.md); the wrap is one copy of the part. @internal (exported for tests)
 */
export function bodyOf(data: string | Uint8Array, node = inNode): BodyInit {
  if (node || typeof data === 'string' || data.length < 65536) return data as BodyInit;
  return new Blob([data as Uint8Array<ArrayBuffer>]);
}

export class ApiClient {
  private readonly fetchImpl: typeof fetch;
  constructor(private readonly opts: ApiClientOptions) {
    this.fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Calls a route by its contract; parses the response with the contract's schema. */
  async call<C extends RouteContract>(
    contract: C,
    ...[body]: C['body'] extends z.ZodType ? [z.input<C['body']>] : []
  ): Promise<z.infer<C['response']>> {
    return this.request(contract, { body });
  }

  /** Like call(), with path parameters (`:name` in the contract's path). */
  async request<C extends RouteContract>(
    contract: C,
    opts: { params?: Record<string, string | number>; body?: unknown; query?: Record<string, string | number | boolean | undefined> },
  ): Promise<z.infer<C['response']>> {
    const body = opts.body;
    const res = await this.send(contract, opts.params, opts.query, body === undefined ? undefined : { type: 'application/json', data: JSON.stringify(body) });
    const text = await boundedText(res);
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiClientError(res.status, 'BAD_RESPONSE', `the server sent something that is not JSON (HTTP ${res.status})`);
    }
    if (!res.ok) {
      if (isErrorBody(json)) throw new ApiClientError(res.status, json.error.code, json.error.message, json.error.field);
      throw new ApiClientError(res.status, 'BAD_RESPONSE', `HTTP ${res.status}`);
    }
    const parsed = contract.response.safeParse(json);
    if (!parsed.success) throw new ApiClientError(res.status, 'BAD_RESPONSE', 'the server response does not match the contract');
    return parsed.data as z.infer<C['response']>;
  }

  private async send(
    contract: RouteContract,
    params: Record<string, string | number> | undefined,
    query: Record<string, string | number | boolean | undefined> | undefined,
    body: { type: string; data: string | Uint8Array } | undefined,
    extraHeaders?: Record<string, string>,
  ): Promise<Response> {
    const path = contract.path.replace(/:([A-Za-z]+)/g, (_, k: string) => {
      const v = params?.[k];
      if (v === undefined) throw new ApiClientError(0, 'BAD_RESPONSE', `missing path parameter ${k}`);
      return encodeURIComponent(String(v));
    });
    const qs = new URLSearchParams(Object.entries(query ?? {}).flatMap(([k, v]) => (v === undefined || v === false ? [] : [[k, String(v)]]))).toString();
    try {
      return await this.fetchImpl(this.opts.baseUrl + path + (qs ? `?${qs}` : ''), {
        method: contract.method,
        headers: {
          ...(body ? { 'content-type': body.type } : {}),
          ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}),
          ...extraHeaders,
        },
        credentials: 'same-origin',
        ...(body ? { body: bodyOf(body.data) } : {}),
      });
    } catch (err) {
      throw new ApiClientError(0, 'NETWORK', `cannot reach the server: ${(err as Error).message}`);
    }
  }

  /** Turns a non-JSON route's failure into an ApiClientError. */
  private async failed(res: Response): Promise<never> {
    let json: unknown;
    try {
      json = JSON.parse(await boundedText(res, 1024 * 1024));
    } catch (err) {
      if (err instanceof ApiClientError && err.code === 'NETWORK') throw err;
      /* not JSON, or too long for an error */
    }
    if (isErrorBody(json)) throw new ApiClientError(res.status, json.error.code, json.error.message, json.error.field);
    throw new ApiClientError(res.status, 'BAD_RESPONSE', `HTTP ${res.status}`);
  }

  /** Uploads one part of a blob (raw ciphertext). */
  async uploadPart(blobId: string, index: number, bytes: Uint8Array) {
    const res = await this.send(mail.blobPart, { blobId, index }, undefined, { type: 'application/octet-stream', data: bytes });
    if (!res.ok) await this.failed(res);
    const text = await boundedText(res, 1024 * 1024);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ApiClientError(res.status, 'BAD_RESPONSE', `the server sent something that is not JSON (HTTP ${res.status})`);
    }
    const parsed = mail.blobPart.response.safeParse(json);
    if (!parsed.success) throw new ApiClientError(res.status, 'BAD_RESPONSE', 'the server response does not match the contract');
    return parsed.data;
  }

  /** Discovery (escrow admin): an attachment piece of a message `address` holds, ciphertext. */
  async discoveryBlob(address: string, blobId: string): Promise<Uint8Array> {
    const res = await this.send(adminDiscoveryPiece, { address, blobId }, undefined, undefined);
    if (!res.ok) await this.failed(res);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** A route that answers text rather than JSON (a calendar's .ics export). */
  async requestText(contract: RouteContract, params: Record<string, string>): Promise<string> {
    const res = await this.send(contract, params, undefined, undefined);
    if (!res.ok) await this.failed(res);
    return boundedText(res);
  }

  /** A blob's ciphertext as a stream. */
  async downloadBlob(blobId: string, range?: { first: number; last?: number; etag?: string }): Promise<ReadableStream<Uint8Array>> {
    // A range (to resume, or to fetch one part): bytes first..last, and with the ETag of the first
    // answer as If-Range, so a blob that differed would come back whole (status 200) — refused here.
    const headers = range ? { range: `bytes=${range.first}-${range.last ?? ''}`, ...(range.etag ? { 'if-range': range.etag } : {}) } : undefined;
    const res = await this.send(mail.blobDownload, { blobId }, undefined, undefined, headers);
    if (!res.ok || !res.body) await this.failed(res);
    if (range && res.status !== 206) {
      await res.body!.cancel();
      throw new ApiClientError(res.status, 'BAD_RESPONSE', 'the server did not answer the byte range asked for');
    }
    return res.body!;
  }

  health() {
    return this.call(routes.health);
  }
  ready() {
    return this.call(routes.ready);
  }
  /** The readiness check under /api: what a page served by a web host can reach. */
  apiReady() {
    return this.call(routes.apiReady);
  }
  info() {
    return this.call(routes.serverInfo);
  }
  lookup(addresses: string[]) {
    return this.call(routes.directoryLookup, { addresses });
  }
  /** `secondFactor`: a 6-digit TOTP code, or one of the user's recovery codes. */
  signIn(address: string, password: string, secondFactor?: string) {
    return this.call(routes.signIn, { address, password, ...secondFactorField(secondFactor) });
  }
  /** Proves the password (and second factor) again for sensitive switches. */
  reauth(password: string, secondFactor?: string) {
    return this.call(account.reauth, { password, ...secondFactorField(secondFactor) });
  }
  sessions() {
    return this.call(account.sessionList);
  }
  /** Changes the signed-in user's display name. */
  updateProfile(displayName: string) {
    return this.call(account.profileUpdate, { displayName });
  }
  /** The server's records of the user's devices: the names given them, added and last used. */
  deviceRecords() {
    return this.call(account.deviceList);
  }
  /** Names one of the user's own devices (null: back to the name it signed itself). */
  renameDevice(id: string, name: string | null) {
    return this.request(account.deviceRename, { params: { id }, body: { name } });
  }
  revokeSession(id: string) {
    return this.request(account.sessionRevoke, { params: { id } });
  }
  revokeOtherSessions() {
    return this.call(account.sessionRevokeOthers);
  }
  changePassword(currentPassword: string, newPassword: string) {
    return this.call(account.passwordChange, { currentPassword, newPassword });
  }
  totpRemove(proof: { code?: string; password?: string }) {
    return this.call(account.totpRemove, proof);
  }
  totpRecoveryCodes(code: string) {
    return this.call(account.totpRecoveryCodes, { code });
  }
  adminResetPassword(address: string) {
    return this.request(account.adminPasswordReset, { params: { address } });
  }
  signOut() {
    return this.call(routes.signOut);
  }
  session() {
    return this.call(routes.currentSession);
  }
  totpEnroll() {
    return this.call(routes.totpEnroll);
  }
  totpConfirm(code: string) {
    return this.call(routes.totpConfirm, { code });
  }
  sigchain(address: string) {
    return this.request(routes.getSigchain, { params: { address } });
  }
  /** Several chains in one request; `missing` lists addresses with none to show (unknown or unreachable). */
  sigchains(addresses: string[]) {
    return this.request(getSigchains, { body: { addresses } });
  }
  appendLink(link: string, pukBoxes: { deviceId: string; generation: number; box: string }[] = [], historyBox?: string) {
    return this.call(routes.appendSigchainLink, { link, pukBoxes, ...(historyBox ? { historyBox } : {}) });
  }
  bindSessionDevice(deviceId: string, signature: string) {
    return this.call(routes.bindSessionDevice, { deviceId, signature });
  }
  escrow() {
    return this.call(routes.accountEscrow);
  }
  adminEscrow() {
    return this.call(routes.adminEscrowGet);
  }
  enableEscrow(body: { publicKeys: string; certificate: string; endorsement: string; boxes: { deviceId: string; box: string }[] }) {
    return this.call(routes.adminEscrowEnable, body);
  }
  disableEscrow() {
    return this.call(routes.adminEscrowDisable);
  }
  escrowBox() {
    return this.call(routes.adminEscrowBox);
  }
  escrowPukBoxes(address: string, purpose: 'recovery' | 'discovery' | 'removal') {
    return this.request(routes.adminEscrowPukBoxes, { params: { address }, body: { purpose } });
  }
  escrowAppend(address: string, link: string, pukBoxes: { deviceId: string; generation: number; box: string }[] = [], historyBox?: string) {
    return this.request(routes.adminEscrowAppend, { params: { address }, body: { link, pukBoxes, ...(historyBox ? { historyBox } : {}) } });
  }
  resetKeyHistory(password: string, second: { totp?: string; recoveryCode?: string } = {}) {
    return this.call(routes.resetKeyHistory, { password, ...second, confirm: 'start my key history afresh' });
  }
  escrowOpenings() {
    return this.call(routes.myEscrowOpenings);
  }
  pukBoxes(deviceId: string) {
    return this.request(routes.myPukBoxes, { params: { deviceId } });
  }
  createBlob(size: number) {
    return this.call(mail.blobCreate, { size });
  }
  completeBlob(blobId: string) {
    return this.request(mail.blobComplete, { params: { blobId } });
  }
  sendMail(body: z.input<typeof mail.mailSend.body>) {
    return this.call(mail.mailSend, body);
  }
  listMail(query: { folder?: FolderName; label?: string; folderId?: string; starred?: boolean; unread?: boolean; limit?: number; cursor?: string | null }) {
    return this.request(mail.mailList, { query: { ...query, cursor: query.cursor ?? undefined } });
  }
  /** A page as rows without ciphertexts (each with the digest of its sealed parts). */
  listMailRows(query: Parameters<ApiClient['listMail']>[0]) {
    return this.request(mail.mailRows, { query: { ...query, cursor: query.cursor ?? undefined } });
  }
  /** The sealed parts of up to a page of entries, in one request. */
  sealedMail(ids: string[]) {
    return this.request(mail.mailSealed, { body: { ids } });
  }
  getMail(entryId: string) {
    return this.request(mail.mailGet, { params: { entryId } });
  }
  thread(threadId: string) {
    return this.request(mail.mailThread, { params: { threadId } });
  }
  updateMail(entryId: string, change: z.input<typeof mail.mailUpdate.body>) {
    return this.request(mail.mailUpdate, { params: { entryId }, body: change });
  }
  deleteMail(entryId: string) {
    return this.request(mail.mailDelete, { params: { entryId } });
  }
  mailSummary() {
    return this.call(mail.mailSummary);
  }
  labels() {
    return this.call(mail.labelList);
  }
  createLabel(id: string, name: string) {
    return this.call(mail.labelCreate, { id, name });
  }
  deleteLabel(labelId: string) {
    return this.request(mail.labelDelete, { params: { labelId } });
  }
  serverMailKey() {
    return this.call(mail.serverMailKey);
  }
  links(entryId: string) {
    return this.request(mail.mailLinks, { params: { entryId } });
  }
  deliveries(entryId: string) {
    return this.request(mail.mailDeliveries, { params: { entryId } });
  }
  adminDomains() {
    return this.call(mail.adminDomainList);
  }
  setCrossDomainE2ee(domain: string, crossDomainE2ee: boolean) {
    return this.request(mail.adminDomainUpdate, { params: { name: domain }, body: { crossDomainE2ee } });
  }
  /** Chooses a domain's encryption policy (once; 409 POLICY_IMMUTABLE afterwards). */
  setEncryptionPolicy(domain: string, encryptionPolicy: 'secure_only' | 'secure_default' | 'standard_default') {
    return this.request(mail.adminDomainUpdate, { params: { name: domain }, body: { encryptionPolicy } });
  }
  mailPolicy() {
    return this.call(mail.mailPolicy);
  }
  adminOutbound(query: { status?: 'queued' | 'delivered' | 'failed' | 'cancelled' | 'all'; limit?: number } = {}) {
    return this.request(mail.adminOutboundList, { query });
  }
  adminOutboundRetry(id: string) {
    return this.request(mail.adminOutboundRetry, { params: { id } });
  }
  adminOutboundCancel(id: string) {
    return this.request(mail.adminOutboundCancel, { params: { id } });
  }
}

/** A 6-digit code goes as `totp`; anything else as a recovery code. */
function secondFactorField(value: string | undefined): { totp?: string; recoveryCode?: string } {
  const v = value?.trim();
  if (!v) return {};
  return /^\d{6}$/.test(v) ? { totp: v } : { recoveryCode: v };
}
