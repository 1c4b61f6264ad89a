#!/usr/bin/env bash
# /v1/users: an owner invites an admin and a member; roles decide who may invite, promote and
# remove (only owners handle owners; a tenant keeps one owner); removing a user revokes their
# API keys and login tokens (a removed admin's key must not keep working, nor fall back to
# another role); another tenant sees and touches none of it; bad input is refused.
source "$(dirname "$0")/api_lib.sh"
api_start
signup acme; OWNER_KEY=$KEY; ACME=$TENANT_ID
TOKEN=$OWNER_KEY
call GET /v1/users; expect 200
assert_eq "$(jq -r '[.items[] | .role + ":" + .email] | join(",")' <<<"$RESP")" "owner:owner@acme.example" "users after signup"
OWNER_ID=$(jq -r '.items[0].id' <<<"$RESP")

call POST /v1/users '{"email":"Ada@Acme.example","password":"long enough","role":"admin"}'; expect 201
ADMIN_ID=$(jq -r .id <<<"$RESP")
assert_eq "$(jq -r .email <<<"$RESP")" "ada@acme.example" "emails are stored lower case"
[ "$(header Location)" = "/v1/users/$ADMIN_ID" ] || fail "Location: $(header Location)"
call POST /v1/users '{"email":"max@acme.example","password":"long enough"}'; expect 201
MEMBER_ID=$(jq -r .id <<<"$RESP")
assert_eq "$(jq -r .role <<<"$RESP")" member "default role"

# Bad input, each with its field; nothing is created.
count() { sql "SELECT count(*) FROM users WHERE tenant_id = '$ACME'"; }
before=$(count)
call POST /v1/users '{"email":"ada@acme.example","password":"long enough"}'; expect 409 conflict
assert_eq "$(jq -r .error.details.field <<<"$RESP")" email "duplicate email field"
call POST /v1/users '{"email":"x@acme.example","password":"long enough","role":"root"}'; expect 400 invalid_request
assert_eq "$(jq -r .error.details.field <<<"$RESP")" role "bad role field"
call POST /v1/users '{"email":"x@acme.example","password":"short"}'; expect 400 invalid_request
call POST /v1/users '{"email":"not-an-email","password":"long enough"}'; expect 400 invalid_request
call POST /v1/users '{"email":"y@acme.example","password":"long enough","admin":true}'; expect 400 invalid_request
call POST /v1/users '{"email":"z@acme.example","password":"long enough","role":"operator"}'; expect 400 invalid_request
call PATCH "/v1/users/$MEMBER_ID" '{"role":"boss"}'; expect 400 invalid_request
call PATCH "/v1/users/$MEMBER_ID" '{}'; expect 400 invalid_request
call PATCH /v1/users/00000000-0000-0000-0000-000000000000 '{"role":"admin"}'; expect 404 not_found
call DELETE /v1/users/not-a-uuid; expect 404 not_found
assert_eq "$(count)" "$before" "no user created by bad input"

login() {
  local saved=$TOKEN; TOKEN=
  call POST /v1/login "{\"email\":\"$1\",\"password\":\"long enough\"}"; expect 200
  jq -r .token <<<"$RESP"; TOKEN=$saved
}
ADMIN_TOKEN=$(login ada@acme.example)
MEMBER_TOKEN=$(login max@acme.example)

# The admin makes a key of their own, and may not touch the owner role.
TOKEN=$ADMIN_TOKEN
call POST /v1/api-keys '{"name":"ada-ci"}'; expect 201
ADMIN_KEY=$(jq -r .key <<<"$RESP")
call POST /v1/users '{"email":"o2@acme.example","password":"long enough","role":"owner"}'; expect 403 forbidden
call PATCH "/v1/users/$OWNER_ID" '{"role":"member"}'; expect 403 forbidden
call DELETE "/v1/users/$OWNER_ID"; expect 403 forbidden
call PATCH "/v1/users/$MEMBER_ID" '{"role":"admin"}'; expect 200
assert_eq "$(jq -r .role <<<"$RESP")" admin "admin promotes member"
call PATCH "/v1/users/$MEMBER_ID" '{"role":"member"}'; expect 200

# A member reads the list and changes nothing.
TOKEN=$MEMBER_TOKEN
call GET /v1/users; expect 200
assert_eq "$(jq -r '.items | length' <<<"$RESP")" 3 "member sees the users"
call POST /v1/users '{"email":"q@acme.example","password":"long enough"}'; expect 403 forbidden
call DELETE "/v1/users/$ADMIN_ID"; expect 403 forbidden

# The last owner cannot step down or be removed; with a second owner it can.
TOKEN=$OWNER_KEY
call PATCH "/v1/users/$OWNER_ID" '{"role":"admin"}'; expect 409 conflict
call DELETE "/v1/users/$OWNER_ID"; expect 409 conflict

# Removing the admin revokes their key and their login token.
call DELETE "/v1/users/$ADMIN_ID"; expect 204
TOKEN=$ADMIN_KEY; call GET /v1/me; expect 401 unauthenticated
TOKEN=$ADMIN_TOKEN; call GET /v1/me; expect 401 unauthenticated
TOKEN=$OWNER_KEY
call GET /v1/audit-events; expect 200
assert_eq "$(jq -r '[.items[] | select(.resource_kind == "user") | .action] | sort | unique | join(",")' <<<"$RESP")" \
  "create,delete,login,update" "user changes in the audit log"

call PATCH "/v1/users/$MEMBER_ID" '{"role":"owner"}'; expect 200
call PATCH "/v1/users/$OWNER_ID" '{"role":"member"}'; expect 200
assert_eq "$(sql "SELECT string_agg(role, ',' ORDER BY role) FROM users WHERE tenant_id = '$ACME'")" "member,owner" "roles"

# Another tenant: the list shows only its own owner; acme's users are not found.
signup globex; TOKEN=$KEY
call GET /v1/users; expect 200
assert_eq "$(jq -r '[.items[].email] | join(",")' <<<"$RESP")" "owner@globex.example" "globex's users"
call PATCH "/v1/users/$MEMBER_ID" '{"role":"member"}'; expect 404 not_found
call DELETE "/v1/users/$MEMBER_ID"; expect 404 not_found
assert_eq "$(sql "SELECT role FROM users WHERE id = '$MEMBER_ID'")" owner "acme's owner untouched"
echo ok
