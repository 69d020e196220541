//! The sandbox's budgets. All are per template *part* (subject, html, text, body, one
//! WhatsApp parameter), so a big HTML body does not eat the subject's allowance.
//!
//! The numbers are sized for a 128 MB Lambda rendering one notification at a time: every
//! limit below keeps the worst case of one render in the low megabytes and milliseconds,
//! while leaving real notification templates (an order e-mail with inline CSS and a few dozen
//! line items) far inside them.

/// Source size of one part. HTML e-mails with inline CSS reach 20–40 KiB; 64 KiB leaves room.
pub const MAX_SOURCE_BYTES: usize = 64 * 1024;

/// Rendered size of one part, enforced while rendering (the output writer refuses to grow past
/// it), so a loop printing megabytes stops at the limit instead of after allocating them.
/// Gmail clips messages above ~102 KiB anyway.
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;

/// Bytes that `{{ … }}` may produce in one part, counting output captured by macros and
/// `{% set %}` blocks as well as final output. Captured text never reaches the output writer,
/// so this is what bounds it; four outputs' worth leaves room for capturing then re-emitting.
pub const MAX_EMITTED_BYTES: usize = 4 * MAX_OUTPUT_BYTES;

/// Largest string a filter may produce (`join`, `replace`, `escape`, …). Checked *before*
/// calling the filter, from the input sizes, so the allocation never happens.
pub const MAX_VALUE_BYTES: usize = MAX_OUTPUT_BYTES;

/// Instruction budget (minijinja `fuel`) of one part: one instruction is roughly one variable
/// lookup, filter call, emitted chunk or loop step. An order e-mail with 50 line items uses
/// about 2–3 thousand; 50 000 still stops a runaway loop in a few milliseconds.
pub const FUEL: u64 = 50_000;

/// Nesting depth (minijinja counts a macro call as several levels). Real templates nest a
/// handful of `for`/`if` blocks and maybe one macro; self-recursive macros stop quickly.
pub const RECURSION_LIMIT: usize = 100;

/// Largest `range()`. minijinja allows 100 000 (lazily); the fuel would stop such a loop, but
/// a clear early error is nicer and `range(n)|join` would never be metered at all.
pub const MAX_RANGE: usize = 10_000;

/// Largest `batch`/`slice` count: minijinja preallocates that many slots, so
/// `slice(10**9)` would try to allocate gigabytes in one step.
pub const MAX_BATCH: usize = 1_000;

/// Literal text inside capturing blocks (`macro`, `call`, `filter`, block `set`), summed over
/// the part. Captured output is buffered in memory rather than written to the limited output
/// writer, and minijinja does not pass literal text through the formatter, so nothing meters
/// it at run time. A loop step costs at least 3 fuel (a test pins this), so one render can
/// buffer at most about `FUEL / 3 × 1 KiB` ≈ 17 MB of captured literal text. Real macros
/// (a table row, a button) fit; big static HTML belongs outside macros.
pub const MAX_CAPTURED_TEXT_BYTES: usize = 1024;

/// Rendered subject length: RFC 5322's line limit (998 octets), beyond which servers may
/// reject or mangle the message.
pub const MAX_SUBJECT_BYTES: usize = 998;

/// WhatsApp Cloud API limit for a text message body, in characters.
pub const MAX_WHATSAPP_TEXT_CHARS: usize = 4096;

/// Parameters of one WhatsApp template reference (Meta's templates use a few; this only
/// bounds the work of one render).
pub const MAX_WHATSAPP_PARAMETERS: usize = 50;
