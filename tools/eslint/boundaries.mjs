// Sealmail's architecture rules, enforced by lint (MISSION §1):
//  - crypto has one door: only packages/crypto imports @noble/*;
//  - nothing imports an app: no package imports an app, no app imports another app;
//  - workspace packages are imported by name through their public entry, never by relative
//    path or deep path into another package;
//  - the environment is read in one place: packages/server/src/config.ts.
import path from 'node:path';

const APPS = new Set(['api', 'smtp', 'web', 'admin', 'viewer', 'cli']);
const CONFIG_MODULE = 'packages/server/src/config.ts';

/** 'packages/crypto' | 'apps/web' | null for a repo-relative path. */
function unitOf(rel) {
  const m = /^(packages|apps)\/([^/]+)\//.exec(rel);
  return m ? { kind: m[1], name: m[2], id: `${m[1]}/${m[2]}` } : null;
}

function rel(context, file) {
  return path.relative(context.cwd, file).split(path.sep).join('/');
}

function checkSource(context, node, spec) {
  if (typeof spec !== 'string') return;
  const fileRel = rel(context, context.filename);
  const self = unitOf(fileRel);
  const report = (message) => context.report({ node, message });

  if (spec.startsWith('@noble/') && self?.id !== 'packages/crypto') {
    return report(`Only packages/crypto may import ${spec}: call @sealmail/crypto instead (crypto has one door).`);
  }
  const named = /^@sealmail\/([^/]+)(\/.*)?$/.exec(spec);
  if (named) {
    const [, name, sub] = named;
    if (APPS.has(name)) {
      return report(
        self?.kind === 'packages' ? `A package may not import an app (${spec}).` : `An app may not import another app (${spec}).`,
      );
    }
    if (sub && (sub.startsWith('/src') || sub.includes('..'))) {
      return report(`Import ${`@sealmail/${name}`} through its public entry, not ${spec}.`);
    }
    return;
  }
  if (spec.startsWith('.')) {
    const targetRel = rel(context, path.resolve(path.dirname(context.filename), spec));
    const target = unitOf(targetRel + (targetRel.endsWith('/') ? '' : '/'));
    if (!target || target.id === self?.id) return;
    if (target.kind === 'apps') {
      return report(
        self?.kind === 'packages'
          ? `A package may not import an app's code (${spec}).`
          : self?.kind === 'apps'
            ? `An app may not import another app's internals (${spec}).`
            : `Nothing may import an app's internals (${spec}).`,
      );
    }
    if (self) return report(`Import workspace package ${target.name} by name (@sealmail/${target.name}), not by relative path (${spec}).`);
  }
}

const boundaries = {
  meta: { type: 'problem', docs: { description: 'Sealmail import boundaries (MISSION §1)' }, schema: [] },
  create(context) {
    return {
      ImportDeclaration: (n) => checkSource(context, n, n.source.value),
      ExportAllDeclaration: (n) => checkSource(context, n, n.source.value),
      ExportNamedDeclaration: (n) => n.source && checkSource(context, n, n.source.value),
      ImportExpression: (n) => n.source.type === 'Literal' && checkSource(context, n, n.source.value),
      CallExpression: (n) =>
        n.callee.type === 'Identifier' &&
        n.callee.name === 'require' &&
        n.arguments[0]?.type === 'Literal' &&
        checkSource(context, n, n.arguments[0].value),
    };
  },
};

const noProcessEnv = {
  meta: { type: 'problem', docs: { description: 'Read the environment only in the config module' }, schema: [] },
  create(context) {
    if (rel(context, context.filename) === CONFIG_MODULE) return {};
    const message = `Read configuration through loadConfig() (${CONFIG_MODULE}), not process.env.`;
    return {
      MemberExpression(n) {
        const obj = n.object;
        const isProcess = obj.type === 'Identifier' && obj.name === 'process';
        const isGlobalProcess =
          obj.type === 'MemberExpression' && obj.property.type === 'Identifier' && obj.property.name === 'process';
        const prop = n.computed ? n.property.type === 'Literal' && n.property.value : n.property.name;
        if ((isProcess || isGlobalProcess) && prop === 'env') context.report({ node: n, message });
      },
      ImportDeclaration(n) {
        if (n.source.value !== 'process' && n.source.value !== 'node:process') return;
        for (const s of n.specifiers) {
          if (s.type === 'ImportSpecifier' && s.imported.name === 'env') context.report({ node: s, message });
        }
      },
      VariableDeclarator(n) {
        if (n.init?.type === 'Identifier' && n.init.name === 'process' && n.id.type === 'ObjectPattern') {
          for (const p of n.id.properties) {
            if (p.type === 'Property' && p.key.type === 'Identifier' && p.key.name === 'env') context.report({ node: p, message });
          }
        }
      },
    };
  },
};

export default { meta: { name: 'eslint-plugin-sealmail' }, rules: { boundaries, 'no-process-env': noProcessEnv } };
