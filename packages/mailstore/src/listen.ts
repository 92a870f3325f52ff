/**
 * One Postgres LISTEN connection that does not go deaf for good: when it ends for any reason but
 * `close()` (Postgres restarted, a network cut, an administrator's pg_terminate_backend), another
 * is made after 1 s, doubling to 30 s while it fails. Notifications sent while it was away are
 * not replayed: `down()` says so at once, `up()` once a new connection LISTENs again. Used by the
 * mail events (events.ts) and the cache's invalidations (cache-notify.ts).
 */
import pg from 'pg';

export interface ListenHandler {
  /** A notification's payload on the channel. */
  payload(payload: string): void;
  /** LISTEN is up: from now on nothing committed goes unheard. */
  up?(): void;
  /** LISTEN is lost or closed: notifications may go unheard until `up()`. */
  down?(): void;
}

export class ReconnectingListener {
  private client: pg.Client | null = null;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly channel: string,
    private readonly handler: ListenHandler,
  ) {}

  /** Listens on `connectionString` until `close()`; resolves once the first LISTEN is up. */
  async listen(connectionString: string, onError: (err: unknown) => void = () => undefined): Promise<void> {
    this.closed = false;
    await this.connect(connectionString, onError);
  }

  /** Whether the LISTEN connection is up. */
  get listening(): boolean {
    return this.client !== null;
  }

  private async connect(connectionString: string, onError: (err: unknown) => void): Promise<void> {
    const client = new pg.Client({ connectionString });
    let ready = false;
    let lost = false;
    const onLost = (err?: unknown) => {
      // Before it is up, a failure reaches the caller through connect()'s rejection.
      if (!ready) return;
      if (err) onError(err);
      if (lost) return;
      lost = true;
      if (this.client === client) {
        this.client = null;
        this.handler.down?.();
      }
      void client.end().catch(() => undefined);
      this.reconnect(connectionString, onError, 1000);
    };
    client.on('notification', (n) => {
      if (n.channel !== this.channel || !n.payload) return;
      try {
        this.handler.payload(n.payload);
      } catch (err) {
        onError(err);
      }
    });
    client.on('error', onLost);
    client.on('end', () => onLost());
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    ready = true;
    this.client = client;
    this.handler.up?.();
  }

  private reconnect(connectionString: string, onError: (err: unknown) => void, delayMs: number): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (this.closed) return;
      this.connect(connectionString, onError).catch((err: unknown) => {
        onError(err);
        this.reconnect(connectionString, onError, Math.min(30_000, delayMs * 2));
      });
    }, delayMs);
    this.retry.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const client = this.client;
    this.client = null;
    if (client) this.handler.down?.();
    await client?.end().catch(() => undefined);
  }
}
