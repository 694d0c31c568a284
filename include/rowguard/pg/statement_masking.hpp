// Keeping tokens out of text that other sessions, extensions and the server log can
// read: statement text (pg_stat_activity, pg_stat_statements, log_min_error_statement)
// and every field of every log line. See docs/security-model.md, "Where a token can be
// seen".
#pragma once

namespace rowguard::pg {

// Installs post_parse_analyze_hook, ProcessUtility_hook, ExecutorStart_hook and
// object_access_hook (each chained to the previous one). Call once from _PG_init.
void InstallStatementHooks();

// Installs an emit_log_hook (chained) that masks JWS-shaped text in every field of a
// log line and hides the statement when it holds a token. Call once from _PG_init.
void InstallLogRedaction();

// Masks every JWS-shaped run of `text` in place (same length, so statement locations
// stay valid); when that text is the one pg_stat_activity shows for this backend, it
// is reported again. Returns true when something was masked.
bool MaskStatementText(const char* text);

// Masks the text this backend reports as its activity (debug_query_string) when it
// holds a token, and reports it again; at most one scan per statement. For the points
// before parse analysis ends where rowguard runs: the object access hook during parse
// analysis and the emit_log_hook (errors before or during parse analysis, lock-wait
// log lines). With `may_warn`, a masked token also writes the once-per-session warning
// (never from inside emit_log_hook).
void MaskReportedStatement(bool may_warn);

}  // namespace rowguard::pg
