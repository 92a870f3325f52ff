/**
 * The address book (docs/mail.md "Contacts"): sealed contacts stored as the user's device gave
 * them. The server checks only ownership, size, count and version; it cannot read a contact.
 * Another user's contact answers 404, exactly like one that does not exist.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError, contactCreate, contactDelete, contactImportDelete, contactImportList, contactLimits, contactList, contactsImportBoxContext, contactUpdate, CONTACTS_IMPORT_BOX_PURPOSE } from '@sealmail/contract';
import { fromBase64Url, openBox, sealBoxAsync, toBase64Url } from '@sealmail/crypto';
import { newestPerUserKey } from '@sealmail/mailstore';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import type { ApiDeps } from '../deps';

const view = (c: { id: string; version: number; box: Uint8Array; updatedAt: Date }) => ({ id: c.id, version: c.version, box: toBase64Url(c.box), updatedAt: c.updatedAt.toISOString() });

function decodeBox(b64: string): Uint8Array<ArrayBuffer> {
  let box: Uint8Array;
  try {
    box = fromBase64Url(b64);
  } catch {
    throw new ApiError('VALIDATION_FAILED', 'body.box', 'body.box: does not decode as base64url.');
  }
  if (box.length > contactLimits.boxBytes) throw new ApiError('VALIDATION_FAILED', 'body.box', `body.box: a sealed contact is at most ${contactLimits.boxBytes} bytes.`);
  return box as Uint8Array<ArrayBuffer>;
}

export async function contactRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const session = { preHandler: requireSession(deps) };

  defineRoute(
    app,
    contactList,
    async (req) => {
      const rows = await deps.db.contact.findMany({ where: { userId: req.session!.userId }, orderBy: { createdAt: 'asc' }, take: contactLimits.contacts });
      return { contacts: rows.map(view) };
    },
    session,
  );

  defineRoute(
    app,
    contactCreate,
    async (req) => {
      const userId = req.session!.userId;
      const box = decodeBox(req.body.box);
      if ((await deps.db.contact.count({ where: { userId } })) >= contactLimits.contacts) throw new ApiError('CONTACTS_FULL');
      // The id is the client's; one taken (by anyone) is refused without saying whose it is.
      if (await deps.db.contact.findUnique({ where: { id: req.body.id }, select: { id: true } })) throw new ApiError('CONFLICT', 'body.id', 'A contact with this id exists; choose another id.');
      const now = deps.now();
      return view(await deps.db.contact.create({ data: { id: req.body.id, userId, box, createdAt: now, updatedAt: now } }));
    },
    session,
  );

  defineRoute(
    app,
    contactUpdate,
    async (req) => {
      const userId = req.session!.userId;
      const box = decodeBox(req.body.box);
      const { count } = await deps.db.contact.updateMany({
        where: { id: req.params.id, userId, version: req.body.version },
        data: { box, version: { increment: 1 }, updatedAt: deps.now() },
      });
      if (count === 0) {
        const exists = await deps.db.contact.findFirst({ where: { id: req.params.id, userId }, select: { id: true } });
        throw exists ? new ApiError('CONTACT_VERSION_CONFLICT') : new ApiError('NOT_FOUND');
      }
      return view(await deps.db.contact.findUniqueOrThrow({ where: { id: req.params.id } }));
    },
    session,
  );

  defineRoute(
    app,
    contactDelete,
    async (req) => {
      const { count } = await deps.db.contact.deleteMany({ where: { id: req.params.id, userId: req.session!.userId } });
      if (count === 0) throw new ApiError('NOT_FOUND');
      return { deleted: true as const };
    },
    session,
  );

  defineRoute(
    app,
    contactImportList,
    async (req) => {
      const userId = req.session!.userId;
      const rows = await deps.db.importedContacts.findMany({ where: { userId }, orderBy: { createdAt: 'asc' }, take: 50 });
      const out = [];
      for (const r of rows) {
        let sealedTo = r.sealedTo;
        let box: Uint8Array = r.box;
        // Sealed to the server's key while the user had none: sealed again to their newest key
        // now that they have one (the server held it readable until here, docs/admin.md "Import").
        if (sealedTo === `server:${deps.serverKey.keyId}`) {
          const puk = await newestPerUserKey(deps.db, userId);
          if (!puk) continue;
          const context = contactsImportBoxContext(userId, r.id);
          const plaintext = openBox({ box, recipientSecretKey: deps.serverKey.secretKey, purpose: CONTACTS_IMPORT_BOX_PURPOSE, context });
          box = await sealBoxAsync({ recipientPublicKey: puk.publicKeys.encryptionPublicKey, purpose: CONTACTS_IMPORT_BOX_PURPOSE, context, plaintext });
          plaintext.fill(0);
          sealedTo = `puk:${puk.generation}`;
          await deps.db.importedContacts.update({ where: { id: r.id }, data: { sealedTo, box: box as Uint8Array<ArrayBuffer> } });
        }
        const generation = /^puk:(\d+)$/.exec(sealedTo)?.[1];
        if (generation === undefined) continue;
        out.push({ id: r.id, generation: Number(generation), box: toBase64Url(box), count: r.count });
      }
      return { imports: out };
    },
    session,
  );

  defineRoute(
    app,
    contactImportDelete,
    async (req) => {
      const { count } = await deps.db.importedContacts.deleteMany({ where: { id: req.params.id, userId: req.session!.userId } });
      if (count === 0) throw new ApiError('NOT_FOUND');
      return { deleted: true as const };
    },
    session,
  );
}
