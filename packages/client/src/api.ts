/**
 * The typed API client shared by the web client, admin console and CLI. Requests and responses
 * are checked against the contract's zod schemas; errors arrive as `ApiClientError` carrying the
 * registry code from the server.
 */
import type { z } from 'zod';
import { isErrorBody, routes, type ErrorCode, type RouteContract } from '@sealmail/contract';

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
    opts: { params?: Record<string, string>; body?: unknown },
  ): Promise<z.infer<C['response']>> {
    const body = opts.body;
    const path = contract.path.replace(/:([A-Za-z]+)/g, (_, k: string) => {
      const v = opts.params?.[k];
      if (v === undefined) throw new ApiClientError(0, 'BAD_RESPONSE', `missing path parameter ${k}`);
      return encodeURIComponent(v);
    });
    let res: Response;
    try {
      res = await this.fetchImpl(this.opts.baseUrl + path, {
        method: contract.method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}),
        },
        credentials: 'same-origin',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new ApiClientError(0, 'NETWORK', `cannot reach the server: ${(err as Error).message}`);
    }
    const text = await res.text();
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

  health() {
    return this.call(routes.health);
  }
  ready() {
    return this.call(routes.ready);
  }
  info() {
    return this.call(routes.serverInfo);
  }
  lookup(addresses: string[]) {
    return this.call(routes.directoryLookup, { addresses });
  }
  signIn(address: string, password: string, totp?: string) {
    return this.call(routes.signIn, { address, password, ...(totp ? { totp } : {}) });
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
  appendLink(link: string, pukBoxes: { deviceId: string; generation: number; box: string }[] = []) {
    return this.call(routes.appendSigchainLink, { link, pukBoxes });
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
  enableEscrow(body: { publicKeys: string; certificate: string; boxes: { deviceId: string; box: string }[] }) {
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
  escrowAppend(address: string, link: string, pukBoxes: { deviceId: string; generation: number; box: string }[] = []) {
    return this.request(routes.adminEscrowAppend, { params: { address }, body: { link, pukBoxes } });
  }
  pukBoxes(deviceId: string) {
    return this.request(routes.myPukBoxes, { params: { deviceId } });
  }
}
