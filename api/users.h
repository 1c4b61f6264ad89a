/* users.h — the people of a tenant: /v1/users, list (anyone), invite with a first password,
 * change role, remove (owner or admin; only an owner may grant, take or remove the owner role,
 * and a tenant always keeps one owner). Removing a user revokes their API keys and login
 * tokens: a key does not outlive the person it acts for. All run in the tenant transaction. */
#ifndef SLUICE_API_USERS_H
#define SLUICE_API_USERS_H

#include "api/http.h"

int users_list(struct api_request *req, struct api_response *resp);
int users_create(struct api_request *req, struct api_response *resp);
int users_update(struct api_request *req, struct api_response *resp);
int users_delete(struct api_request *req, struct api_response *resp);

#endif
