/**
 * The asynchronous openers (native X25519 half of the X-Wing decapsulation where the runtime has
 * it) give exactly what the synchronous ones give, and refuse exactly what they refuse: every
 * holder of a sealed mail, a tampered box, a box for another holder, the wrong key generation.
 */
import { describe, expect, it } from 'vitest';
import {
  generateDeviceKeys,
  generatePerUserKey,
  openBox,
  openBoxAsync,
  openRecipientBox,
  openRecipientBoxAsync,
  publicKeysOf,
  sealBox,
  sealMail,
  type MailRecipientKey,
  type PerUserKey,
} from '../src/index';
import { expectCode, expectCodeAsync, flip, seededRandom } from './helpers';

const random = seededRandom('open-async');
const users = ['alice', 'bob', 'carol'] as const;
const puks = Object.fromEntries(users.map((u, i) => [u, generatePerUserKey(2 + i, { random })])) as Record<(typeof users)[number], PerUserKey>;
const rk = (u: (typeof users)[number]): MailRecipientKey => ({ userId: u, generation: puks[u].generation, publicKeys: publicKeysOf(puks[u]) });
const device = generateDeviceKeys({ random });
const sender = { kind: 'device' as const, userId: 'alice', deviceId: 'alice-phone', signingSecretKey: device.signing.secretKey, signingPublicKey: device.signing.publicKey };

describe('asynchronous openers', () => {
  it('openBoxAsync opens what openBox opens, with the same bytes, and refuses tampering the same way', async () => {
    const context = new Uint8Array([1, 2, 3]);
    for (let i = 0; i < 8; i++) {
      const plaintext = random(1 + i * 97);
      const box = sealBox({ recipientPublicKey: puks.bob.encryption.publicKey, purpose: 'mail-recipient', context, plaintext, random });
      const args = { box, recipientSecretKey: puks.bob.encryption.secretKey, purpose: 'mail-recipient' as const, context };
      expect(await openBoxAsync(args)).toEqual(openBox(args));
      for (const at of [5, 2 + 1088 + 3, box.length - 1]) {
        const bad = { ...args, box: flip(box, at) };
        expectCode(() => openBox(bad), 'DECRYPTION_FAILED');
        await expectCodeAsync(openBoxAsync(bad), 'DECRYPTION_FAILED');
      }
      await expectCodeAsync(openBoxAsync({ ...args, recipientSecretKey: puks.carol.encryption.secretKey }), 'DECRYPTION_FAILED');
      await expectCodeAsync(openBoxAsync({ ...args, context: new Uint8Array([1, 2, 4]) }), 'DECRYPTION_FAILED');
    }
  });

  it('openRecipientBoxAsync gives each holder the same message key and signature status as openRecipientBox', async () => {
    const sealed = await sealMail({ messageId: 'm-async', sender, pieces: [{ kind: 'body', plaintext: new TextEncoder().encode('Subject: x\r\n\r\ny') }], to: [rk('bob'), rk('carol')], senderCopy: rk('alice'), random });
    for (const u of users) {
      const record = sealed.boxes.find((b) => b.userId === u)!.record;
      const args = { envelope: sealed.envelope, record, userId: u, puk: puks[u], expectedSenderSigningKeys: [device.signing.publicKey] };
      const sync = openRecipientBox(args);
      const viaAsync = await openRecipientBoxAsync(args);
      expect(viaAsync.messageKey).toEqual(sync.messageKey);
      expect(viaAsync.status).toBe('signed-valid');
      expect(viaAsync.role).toBe(sync.role);
      expect(viaAsync.bcc).toEqual(sync.bcc);
      // Another holder's record, another generation's key, a flipped byte: refused like the synchronous opener.
      await expectCodeAsync(openRecipientBoxAsync({ ...args, userId: u === 'bob' ? 'carol' : 'bob' }), 'DECRYPTION_FAILED');
      await expectCodeAsync(openRecipientBoxAsync({ ...args, puk: generatePerUserKey(puks[u].generation, { random }) }), 'DECRYPTION_FAILED');
      await expectCodeAsync(openRecipientBoxAsync({ ...args, record: flip(record, record.length - 2) }), 'DECRYPTION_FAILED');
    }
  });
});
