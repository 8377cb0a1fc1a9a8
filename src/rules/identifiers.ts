/**
 * Character rules that several layers apply to the same value, written once: the config schema,
 * the authenticator, the session policy, the key rules and the scripts all import them from here,
 * so they cannot drift apart.
 */

/** Partner and client names: 1–32 of [a-z0-9-], not starting with "-". */
export const NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** What NAME says, in words, for messages. */
export const NAME_RULE = '1–32 of [a-z0-9-]';

/** The characters of an API key id (the `<id>` in `sbk_<id>_<secret>`), without anchors. */
export const API_KEY_ID_CHARS = '[A-Za-z0-9]{1,32}';
/** API key ids: 1–32 letters or digits. */
export const API_KEY_ID = new RegExp(`^${API_KEY_ID_CHARS}$`);

/** IAM reads `*` and `?` as wildcards and `${…}` as a variable inside an ARN (the Polaris CVE-2026-42810 class). */
export const IAM_SPECIAL = /[*?$]/;

/** RFC 4648 base32, lowercase: 32 symbols, so `byte & 31` picks one without modulo bias. */
export const BASE32_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
