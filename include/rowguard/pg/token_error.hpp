// How a refused token is reported, in one place. Every "invalid token" error and every
// rowguard LOG line is recognised by the emit_log_hook (HideTokenStatements) through the
// constants below, which the reporters use too: rewording one cannot break the hiding.
#pragma once

extern "C" {
#include "postgres.h"
}

// The prefix of every LOG line rowguard writes. A macro so that format strings can be
// written as ROWGUARD_LOG_PREFIX "text %s" and stay checkable by the compiler.
#define ROWGUARD_LOG_PREFIX "rowguard: "

namespace rowguard::pg {

// The primary message of every token failure (SQLSTATE 28000); the reason goes to the
// detail.
inline constexpr char kInvalidTokenMessage[] = "invalid token";
inline constexpr char kLogPrefix[] = ROWGUARD_LOG_PREFIX;
// The once-per-session WARNING that a client sent a token inside statement text
// (statement_masking.cpp); written to the server log only.
inline constexpr char kLiteralTokenMessage[] = ROWGUARD_LOG_PREFIX "a token was sent inside the text of a statement";
inline constexpr int kLogPrefixLength = sizeof(kLogPrefix) - 1;

// Raises ERROR 28000 "invalid token" with `detail` (a full sentence) and, unless nullptr,
// `hint`. The statement is kept out of the server log (it may hold the token).
[[noreturn]] void ReportInvalidToken(const char* detail, const char* hint);

// The same failure from a GUC check hook (which must not ereport): sets the errcode,
// message and detail PostgreSQL reports when the hook returns false.
void SetInvalidTokenCheckError(const char* detail);

// Installs the emit_log_hook that keeps statements holding tokens out of the server
// log; call once from _PG_init.
void InstallTokenStatementHiding();

}  // namespace rowguard::pg
