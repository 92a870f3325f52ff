/**
 * The one registry of API error codes: code → HTTP status → message.
 *
 * Every error body the API sends is `{ error: { code, message, field? } }` with a code from this
 * table. Clients switch on `code`, never on the message. docs/api-errors.md documents every code;
 * a test keeps the two in step and proves each code is reachable.
 */
export const errorRegistry = {
  NOT_FOUND: { status: 404, message: 'No such route or resource.' },
  MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  VALIDATION_FAILED: { status: 400, message: 'A field of the request is missing or invalid.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'This content type is not accepted here.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  MALFORMED_REQUEST: { status: 400, message: 'The request is not valid HTTP or its URL is not validly encoded.' },
  URI_TOO_LONG: { status: 414, message: 'The request URL or one of its path parts is too long.' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large.' },
  CROSS_ORIGIN: { status: 403, message: 'This request came from another site and was refused.' },
  API_UNAVAILABLE: { status: 502, message: 'The API cannot be reached right now; try again shortly.' },
  UNAUTHENTICATED: { status: 401, message: 'Sign in first.' },
  INVALID_CREDENTIALS: { status: 401, message: 'The address or password is wrong.' },
  TOTP_REQUIRED: { status: 401, message: 'Enter the code from your authenticator app.' },
  TOTP_INVALID: { status: 401, message: 'That authenticator code is wrong or was already used.' },
  TOTP_ENROLLMENT_REQUIRED: { status: 403, message: 'Your organisation requires a second factor: set up an authenticator app first.' },
  USER_SUSPENDED: { status: 403, message: 'This account is suspended; ask your administrator.' },
  PASSWORD_CHANGE_REQUIRED: { status: 403, message: 'Your password was reset: choose a new password first.' },
  PASSWORD_INCORRECT: { status: 403, message: 'That password is wrong.' },
  REAUTH_REQUIRED: { status: 403, message: 'Confirm your password (and authenticator code) again to make this change.' },
  FORBIDDEN: { status: 403, message: 'You may not do this.' },
  DELEGATION_INVALID: { status: 400, message: 'The delegation was refused: the delegate, the rights or the key boxes do not fit the key history.' },
  MAILBOX_NOT_DELEGATED: { status: 403, message: 'You hold no delegation for this mailbox (or not for this): ask its owner to grant it.' },
  SIGCHAIN_INVALID: { status: 400, message: 'The key history link was refused: it does not extend the chain validly.' },
  DEVICE_REQUIRED: { status: 403, message: 'This needs a device: set up this device’s keys first.' },
  DEVICE_NOT_APPROVED: { status: 403, message: 'This device is waiting for approval: approve it from another of your devices, or recover it with your backup key.' },
  DEVICE_PROOF_INVALID: { status: 403, message: 'This device could not prove it belongs to the account.' },
  DEVICE_REVOKED: { status: 401, message: 'This device was removed from the account; sign in again on a new device.' },
  KEY_RESET_REFUSED: { status: 409, message: 'Your key history cannot be started afresh: it has no links yet (set up this device instead), or escrow is on (an escrow administrator can approve this device).' },
  DEVICE_REQUEST_EXPIRED: { status: 409, message: 'This device asked to join more than 7 days ago; the request has expired. Reject it, and ask again from the device.' },
  ESCROW_ENFORCED: { status: 403, message: 'Escrow is on for this account: only an escrow admin can remove it.' },
  ESCROW_INVALID: { status: 400, message: 'The escrow key is not valid for this account.' },
  MESSAGE_TOO_LARGE: { status: 413, message: 'Attachments may be at most 25 MiB per message.' },
  QUOTA_EXCEEDED: { status: 507, message: 'Your mailbox is full: delete some mail or ask your administrator for more space.' },
  RECIPIENT_UNKNOWN: { status: 400, message: 'There is no mailbox with this address here.' },
  E2EE_UNAVAILABLE: { status: 400, message: 'This recipient cannot receive end-to-end-encrypted mail from you; nothing was sent.' },
  MAIL_INVALID: { status: 400, message: 'The sealed mail does not fit together (envelope, boxes, recipients or pieces).' },
  POLICY_IMMUTABLE: { status: 409, message: "A domain's encryption policy is chosen once and cannot be changed." },
  POLICY_FORBIDS_STANDARD: { status: 403, message: "Your domain's policy allows only end-to-end encryption or expiring links; standard mail was not sent." },
  SCHEDULE_INVALID: { status: 400, message: 'A mail can be scheduled from now up to a year ahead; drafts cannot be scheduled.' },
  SCHEDULED_ALREADY_SENT: { status: 409, message: 'This scheduled mail has already left (or was cancelled); it can no longer be changed.' },
  LINK_EXPIRED: { status: 410, message: 'This link has expired; the message behind it was deleted.' },
  LINK_REVOKED: { status: 410, message: 'The sender withdrew this link; the message behind it was deleted.' },
  OUTBOUND_UNAVAILABLE: { status: 503, message: 'This server does not send mail to the outside world right now.' },
  IMPORT_UNAVAILABLE: { status: 503, message: 'This server does not run mail imports right now.' },
  UPLOAD_INCOMPLETE: { status: 409, message: 'The upload is not complete: a part is missing or the size differs from the one declared.' },
  RANGE_NOT_SATISFIABLE: { status: 416, message: 'The requested byte range is not valid for this blob: ask for one range, bytes=first-last, within its size.' },
  ADDRESS_TAKEN: { status: 409, message: 'This address already belongs to a user, a mailing list, an alias or a room.' },
  FROM_NOT_OWNED: { status: 403, message: 'You cannot send from this address: it is not yours or one of your aliases.' },
  FORWARD_UNVERIFIED: { status: 409, message: 'This forward address is not verified yet: enter the code mailed to it first.' },
  FORWARD_CODE_INVALID: { status: 400, message: 'That code is wrong or has expired: ask for a new one.' },
  CALENDAR_ICS_INVALID: { status: 400, message: 'The iCalendar data is malformed.' },
  CALENDAR_UNKNOWN_TIME_ZONE: { status: 400, message: 'The time zone is not in the time zone database.' },
  CALENDAR_RECURRENCE_INVALID: { status: 400, message: 'The recurrence rule is invalid or repeats too often (at most hourly).' },
  CALENDAR_RANGE_TOO_LONG: { status: 400, message: 'The range is too long: ask for at most 400 days of occurrences.' },
  CALENDAR_DEFAULT_UNDELETABLE: { status: 409, message: 'The default calendar cannot be deleted.' },
  CALENDAR_FULL: { status: 409, message: 'This calendar holds the most events it may (20,000): delete old events, or use another calendar.' },
  CALENDAR_READ_ONLY: { status: 403, message: 'This calendar is shared with you to view only: ask its owner for the right to manage it.' },
  CALENDAR_GRANTEE_INVALID: { status: 400, message: 'A calendar can be shared only with another user of your organisation.' },
  CALENDAR_NOT_INVITED: { status: 409, message: 'You are not an attendee of this event: only the people it invites answer it.' },
  CALENDAR_INVITATION_NOT_SENT: { status: 502, message: 'The event was saved, but an invitation mail could not be delivered.' },
  DOMAIN_TAKEN: { status: 409, message: 'This domain is already on this server (in your organisation or another).' },
  DOMAIN_UNVERIFIED: { status: 409, message: "This domain's ownership is not proven yet: publish its verification TXT record and press Verify first." },
  DOMAIN_IN_USE: { status: 409, message: 'This domain still has users, mailing lists or aliases: move or delete them first.' },
  DKIM_NOT_PUBLISHED: { status: 409, message: 'The new DKIM key is not published in DNS yet: publish its record (or confirm you have) before signing with it.' },
  DKIM_NO_NEXT_KEY: { status: 409, message: 'There is no new DKIM key to switch to: make one first.' },
  DKIM_NO_OLD_KEY: { status: 409, message: 'There is no old DKIM key to retire.' },
  DKIM_ROTATION_PENDING: { status: 409, message: 'Retire the old DKIM key first (and remove its DNS record); then a new key can use its selector.' },
  LAST_ADMIN: { status: 409, message: 'This is the last administrator of the organisation: make another user an administrator first.' },
  LEGAL_HOLD: { status: 409, message: 'This user is under legal hold: their mail cannot be deleted for good, nor the user. Lift the hold first.' },
  INVITATION_INVALID: { status: 410, message: 'This set-up link cannot be used: it was used already, has expired or was replaced by a newer one. Ask your administrator for a new link.' },
  CONTACT_VERSION_CONFLICT: { status: 409, message: 'This contact was changed on another device since you opened it: reopen it to see the change, then edit again.' },
  CONTACTS_FULL: { status: 409, message: 'Your address book holds the most contacts it can (10,000): delete some first.' },
  CONFLICT: { status: 409, message: 'This conflicts with the current state.' },
  RATE_LIMITED: { status: 429, message: 'Too many attempts; try again later.' },
  DATABASE_UNAVAILABLE: { status: 503, message: 'The database cannot be reached.' },
  INTERNAL: { status: 500, message: 'Something went wrong on the server.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorRegistry;
export const errorCodes = Object.keys(errorRegistry) as ErrorCode[];

/** The JSON body of every API error. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    /** For VALIDATION_FAILED: the path of the offending field, e.g. `body.addresses.0`. */
    field?: string;
  };
}

/** An error to throw in server code; the API's error handler turns it into an ErrorBody. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly field?: string,
    message?: string,
  ) {
    super(message ?? errorRegistry[code].message);
    this.status = errorRegistry[code].status;
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) } };
  }
}

/** Builds the body for a registry code without throwing. */
export function errorBody(code: ErrorCode, field?: string): ErrorBody {
  return new ApiError(code, field).toBody();
}

/** True when `value` has the shape of an ErrorBody with a known code. */
export function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const e = (value as { error?: unknown }).error;
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' && (e as { code: string }).code in errorRegistry;
}
