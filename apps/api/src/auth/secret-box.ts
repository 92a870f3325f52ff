// The server's SecretBox lives in @sealmail/mailstore (the SMTP ingress opens out-of-office texts too).
export { SecretBox } from '@sealmail/mailstore';
