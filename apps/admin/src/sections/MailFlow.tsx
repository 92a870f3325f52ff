import { Outbound } from '../Outbound';
import { Lists } from '../Lists';
import { BlockedSenders } from '../Blocked';

/** Mail flow: the outbound queue, mailing lists and senders blocked for everyone. */
export function MailFlow() {
  return (
    <>
      <Outbound />
      <Lists />
      <BlockedSenders />
    </>
  );
}
