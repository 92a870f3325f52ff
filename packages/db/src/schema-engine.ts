/**
 * Prisma's schema engine, compiled to WASM (@prisma/schema-engine-wasm), driven through the pg
 * driver adapter. Prisma's CLI would download a native engine that this environment cannot
 * reach; the WASM build computes the same migration SQL. Used to write new migrations
 * (scripts/migration-new.ts) and by the drift test; never at runtime.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as SchemaEngineBg from '@prisma/schema-engine-wasm/schema_engine_bg';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';

type Bg = typeof SchemaEngineBg;
type Engine = Awaited<ReturnType<Bg['SchemaEngine']['new']>>;
type DiffTarget = Parameters<Engine['diff']>[0]['from'];

let bgPromise: Promise<Bg> | undefined;

let lastPanic = '';
/** The WASM build reports panics through this global; keep the message for the error. */
(globalThis as Record<string, unknown>).PRISMA_WASM_PANIC_REGISTRY ??= {
  set_message(message: string) {
    lastPanic = message;
  },
};

/** Node 20 refuses to import .wasm modules: instantiate the bytes by hand. */
function loadBg(): Promise<Bg> {
  bgPromise ??= (async () => {
    const require = createRequire(import.meta.url);
    const pkgDir = dirname(require.resolve('@prisma/schema-engine-wasm'));
    const bg = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as Bg & { __wbg_set_wasm(w: unknown): void };
    const { instance } = await WebAssembly.instantiate(readFileSync(join(pkgDir, 'schema_engine_bg.wasm')), {
      './schema_engine_bg.js': bg as unknown as WebAssembly.ModuleImports,
    });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as (() => void) | undefined)?.();
    return bg;
  })();
  return bgPromise;
}

/**
 * A pg client that adapts what the engine's introspection reads:
 * - `char` (OID 18) and `char[]` (1002) columns are reported as `text` (25) and `text[]` (1009):
 *   adapter-pg cannot hand them to the engine otherwise;
 * - PostgreSQL 18 lists NOT NULL constraints in pg_constraint (contype 'n'), which this engine
 *   version does not know and panics on; they are dropped from its constraint query (the
 *   engine reads nullability from the column itself).
 */
class CharAsTextClient extends pg.Client {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    const relabel = (res: pg.QueryResult | undefined) => {
      if (!res?.fields) return res;
      for (const f of res.fields) {
        if (f.dataTypeID === 18) f.dataTypeID = 25;
        else if (f.dataTypeID === 1002) f.dataTypeID = 1009;
      }
      const ct = res.fields.findIndex((f) => f.name === 'constraint_type');
      if (ct >= 0 && res.fields.some((f) => f.name === 'constraint_definition')) {
        res.rows = res.rows.filter((row: unknown) => (Array.isArray(row) ? row[ct] : (row as Record<string, unknown>).constraint_type) !== 'n');
        res.rowCount = res.rows.length;
      }
      return res;
    };
    const last = args.length - 1;
    if (typeof args[last] === 'function') {
      const cb = args[last];
      args[last] = (err: unknown, res: pg.QueryResult) => cb(err, relabel(res));
    } else if (args[0] && typeof args[0] === 'object' && typeof args[0].callback === 'function') {
      const cb = args[0].callback;
      args[0].callback = (err: unknown, res: pg.QueryResult) => cb(err, relabel(res));
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const r = (super.query as (...a: any[]) => any)(...args);
    return r && typeof r.then === 'function' ? r.then(relabel) : r;
  }
}

const noFilter = { externalTables: [], externalEnums: [] };

export interface SchemaEngineSession {
  /** SQL that turns `from` into `to`; '' when they are the same. */
  diffSql(from: DiffTarget, to: DiffTarget): Promise<string>;
  close(): Promise<void>;
}

/** Targets for diffSql. */
export const target = {
  empty: (): DiffTarget => ({ tag: 'empty' }),
  schema: (content: string): DiffTarget => ({ tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content }] }),
  /** The live database the session is connected to. */
  database: (schema: string): DiffTarget => ({ tag: 'schemaDatasource', files: [{ path: 'schema.prisma', content: schema }], configDir: '.' }),
};

/**
 * Opens the engine against `connectionString` (a database it may read; diffs never write).
 * The WASM engine panics when the database holds `_prisma_migrations`: point it at a scratch
 * database and drop that table first (see `dropMigrationsTable`).
 * @throws Error when the WASM cannot load or the database cannot be reached.
 */
export async function openSchemaEngine(connectionString: string, schema: string): Promise<SchemaEngineSession> {
  const bg = await loadBg();
  const pool = new pg.Pool({ connectionString, Client: CharAsTextClient, max: 2 });
  const factory = bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool));
  const engine = await bg.SchemaEngine.new({ datamodels: [['schema.prisma', schema]] }, () => {}, factory);
  return {
    async diffSql(from, to) {
      let res: Record<string, unknown>;
      try {
        res = (await engine.diff({ from, to, script: true, exitCode: null, filters: noFilter })) as unknown as Record<string, unknown>;
      } catch (err) {
        throw new Error(`schema engine: ${lastPanic || (err as Error).message}`, { cause: err });
      }
      return String(res.stdout ?? res.migration ?? res.script ?? '').replace(/^-- This is an empty migration\.\s*$/m, '').trim();
    },
    async close() {
      engine.free();
      await pool.end();
    },
  };
}

/** Drops `_prisma_migrations` from a scratch database before diffing it (see openSchemaEngine). */
export async function dropMigrationsTable(connectionString: string): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query('DROP TABLE IF EXISTS "_prisma_migrations"');
  } finally {
    await client.end();
  }
}
