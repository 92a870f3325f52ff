// Shared React pieces of the web client and admin console: the key worker's handle and the
// device screens. Key material stays in the worker (./keys/keys.worker.ts).
import './ui.css';
export { i18n, i18nReady, setLanguage, languages, describeError, endedMessage, formatDate, formatDateTime, formatTime, formatSize, formatNumber } from './i18n';
export { LanguagePicker } from './LanguagePicker';
export { useTranslation } from 'react-i18next';
export { keys, KeyWorkerError } from './keys/client';
export { contactsCall, type ContactsAnswers, type ContactsCall } from './keys/contacts-client';
export type { Compose, ContentRule, DelegationOverview, EscrowOverview, MailRow, MailView, Protection, SetUpResult, SignatureItem, TemplateItem } from './keys/protocol';
export { BackupKeyStep, deviceName, EscrowNotice, PendingStep } from './Setup';
export { Devices } from './Devices';
export { clientName } from './clientName';
export { KEYS_CHANGED_EVENT, PendingDevicesAlert } from './PendingDevices';
export { SafetyNumber } from './SafetyNumber';
export { KeyGate } from './KeyGate';
export { useBlockList, type BlockedEntry } from './useBlockList';
export { useModalDialog } from './useModalDialog';
