/*
 * bearer_hook: connect the way an application that already holds an access token does,
 * handing the token to libpq through PQsetAuthDataHook (PQAUTHDATA_OAUTH_BEARER_TOKEN,
 * PostgreSQL 18+ libpq), then run steps on the connection. Used by
 * test/integration/oauth.sh, compiled there against the libpq under test:
 *
 *   cc -o bearer_hook bearer_hook.c -I$(pg_config --includedir) -L$(pg_config --libdir) -lpq
 *   bearer_hook CONNINFO [STEP ...] < token
 *
 * The token is read from standard input (first line), never from the command line, which
 * every user of the machine can read. CONNINFO needs oauth_issuer and oauth_client_id
 * like any OAuth connection (libpq checks the server's discovery URI against the issuer
 * before it asks the hook). Steps, in order:
 *
 *   sql:STATEMENT   run it; print every row as "row: v1|v2|..." or "error: SQLSTATE message"
 *                   (plus "detail: ..." and "hint: ..." lines when present)
 *   sleep:SECONDS   wait
 *
 * Prints "hook: discovery=URI scope=SCOPE" for every token request libpq makes (what the
 * server asked for), then "connected" or "connect failed: MESSAGE" (one line). Exit status:
 * 0 when every step succeeded, 1 when a statement failed, 2 when the connection failed,
 * 3 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

static char *token;

static void
cleanup_token(PGconn *conn, PGoauthBearerRequest *request)
{
	(void) conn;
	free(request->token);
	request->token = NULL;
}

static int
auth_data_hook(PGauthData type, PGconn *conn, void *data)
{
	if (type == PQAUTHDATA_OAUTH_BEARER_TOKEN)
	{
		PGoauthBearerRequest *request = data;

		printf("hook: discovery=%s scope=%s\n",
			   request->openid_configuration ? request->openid_configuration : "(none)",
			   request->scope ? request->scope : "(none)");
		fflush(stdout);
		request->token = strdup(token);
		if (request->token == NULL)
			return -1;
		request->cleanup = cleanup_token;
		return 1;				/* the token is ready: no async callback */
	}
	return PQdefaultAuthDataHook(type, conn, data);
}

/* One line per message: newlines inside a server message become spaces. */
static void
print_flat(const char *label, const char *text)
{
	printf("%s", label);
	for (const char *p = text; *p; p++)
	{
		if (*p == '\n')
		{
			if (p[1] != '\0')
				putchar(' ');
		}
		else
			putchar(*p);
	}
	putchar('\n');
}

static int
run_sql(PGconn *conn, const char *sql)
{
	PGresult   *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int			failed = 0;

	if (st == PGRES_TUPLES_OK)
	{
		for (int r = 0; r < PQntuples(res); r++)
		{
			printf("row: ");
			for (int c = 0; c < PQnfields(res); c++)
				printf("%s%s", c ? "|" : "", PQgetisnull(res, r, c) ? "" : PQgetvalue(res, r, c));
			putchar('\n');
		}
	}
	else if (st == PGRES_COMMAND_OK)
		printf("ok: %s\n", PQcmdStatus(res));
	else
	{
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
		char		line[4096];

		if (msg)
			snprintf(line, sizeof(line), "error: %s %s", state ? state : "?????", msg);
		else
			snprintf(line, sizeof(line), "error: ????? %s", PQerrorMessage(conn));
		print_flat("", line);
		if (detail)
			print_flat("detail: ", detail);
		if (hint)
			print_flat("hint: ", hint);
		failed = 1;
	}
	PQclear(res);
	fflush(stdout);
	return failed;
}

int
main(int argc, char **argv)
{
	char		buf[65536];
	size_t		len;
	PGconn	   *conn;
	int			failed = 0;

	if (argc < 2)
	{
		fprintf(stderr, "usage: %s CONNINFO [sql:STATEMENT | sleep:SECONDS ...] < token\n", argv[0]);
		return 3;
	}
	if (fgets(buf, sizeof(buf), stdin) == NULL)
	{
		fprintf(stderr, "bearer_hook: no token on standard input\n");
		return 3;
	}
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	token = buf;

	setvbuf(stdout, NULL, _IOLBF, 0);
	PQsetAuthDataHook(auth_data_hook);
	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		print_flat("connect failed: ", PQerrorMessage(conn));
		PQfinish(conn);
		return 2;
	}
	printf("connected\n");

	for (int i = 2; i < argc; i++)
	{
		if (strncmp(argv[i], "sql:", 4) == 0)
			failed |= run_sql(conn, argv[i] + 4);
		else if (strncmp(argv[i], "sleep:", 6) == 0)
			sleep((unsigned) atoi(argv[i] + 6));
		else
		{
			fprintf(stderr, "bearer_hook: unknown step \"%s\"\n", argv[i]);
			PQfinish(conn);
			return 3;
		}
	}
	PQfinish(conn);
	return failed;
}
