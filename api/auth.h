/* auth.h — who is calling: signup, password login, bearer authentication, /me and API keys.
 *
 * Credentials: API keys are "sk_" + 64 hex digits, login tokens "st_" + 64 hex digits; both
 * are stored only as hex SHA-256 and resolved through the SECURITY DEFINER function
 * sluice_auth_lookup(). Passwords are stored as PBKDF2-HMAC-SHA256 (common/crypto.h). */
#ifndef SLUICE_API_AUTH_H
#define SLUICE_API_AUTH_H

#include "api/http.h"

/* Resolves the Authorization: Bearer credential into req->caller. Returns 0, or -1 with 401
 * (or a database error) in resp. Runs outside any tenant transaction. */
int auth_authenticate(struct api_request *req, struct api_response *resp);

/* POST /v1/signup: tenant, owner user and first API key (no credential needed). */
int auth_signup(struct api_request *req, struct api_response *resp);
/* POST /v1/login: {"token","expires_at","tenant_id"}. */
int auth_login(struct api_request *req, struct api_response *resp);
/* GET /v1/me (tenant transaction). */
int auth_me(struct api_request *req, struct api_response *resp);
/* /v1/api-keys: list, create (key shown once), revoke (tenant transaction). */
int auth_api_keys_list(struct api_request *req, struct api_response *resp);
int auth_api_keys_create(struct api_request *req, struct api_response *resp);
int auth_api_keys_revoke(struct api_request *req, struct api_response *resp);
/* GET /v1/audit-events?limit=&cursor=: the tenant's audit log, newest first. */
int auth_audit_events(struct api_request *req, struct api_response *resp);

/* POST /v1/logout: revokes the caller's login session (bearer token or the console's cookie)
 * on every api process, and clears the cookie. 204. */
int auth_logout(struct api_request *req, struct api_response *resp);

#endif
