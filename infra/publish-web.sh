#!/usr/bin/env bash
# Publishes the pages (web/: the privacy center, the DPO console, the embeddable form) to a deployed stack
# (docs/deploy.md, "The privacy center and the DPO console"): writes config.json from the stack's outputs and
# parameters, uploads web/ to the stack's SiteBucket with each file's content type (the unit tests, *.test.mjs
# and *.test.js, stay behind), removes what web/ no longer has, and invalidates the distribution's cache.
# Needs the AWS CLI (with the credentials and region of the stack) and python3.
#
#   infra/publish-web.sh dsr
#
# WEB_DIR: the folder to publish (default: web/ next to this script's folder).
set -euo pipefail

STACK=${1:?usage: infra/publish-web.sh <stack name>}
WEB=${WEB_DIR:-$(cd "$(dirname "$0")/.." && pwd)/web}
[ -d "$WEB" ] || { echo "publish-web: no folder $WEB" >&2; exit 1; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

aws cloudformation describe-stacks --stack-name "$STACK" --output json >"$OUT/stack.json"
# value Outputs|Parameters KEY: one output's or parameter's value ("" if the stack has none).
value() {
  python3 - "$OUT/stack.json" "$1" "$2" <<'PY'
import json, sys
stack = json.load(open(sys.argv[1]))["Stacks"][0]
kind, key = sys.argv[2], sys.argv[3]
name = "OutputKey" if kind == "Outputs" else "ParameterKey"
val = "OutputValue" if kind == "Outputs" else "ParameterValue"
print(next((e.get(val, "") for e in stack.get(kind, []) if e[name] == key), ""))
PY
}
BUCKET=$(value Outputs SiteBucketName)
DISTRIBUTION=$(value Outputs SiteDistributionId)
CONSOLE_URL=$(value Outputs ConsoleUrl)
ISSUER=$(value Parameters DpoTokenIssuer)
CLIENT_ID=$(value Parameters DpoTokenAudience)
SIGN_IN=$(value Parameters DpoSignInDomain)
[ -n "$BUCKET" ] && [ -n "$DISTRIBUTION" ] || { echo "publish-web: stack $STACK has no SiteBucketName/SiteDistributionId outputs (deploy the current template first)" >&2; exit 1; }
if [ -z "$SIGN_IN" ]; then
  echo "publish-web: DpoSignInDomain is empty: the console will ask for a pasted token instead of signing in (docs/deploy.md)" >&2
fi

# config.json (the contract of the pages): the API on the pages' own origin, and the console's sign-in
# (OAuth 2.0 authorization code with PKCE at the identity provider; Cognito's hosted UI endpoints).
python3 - "$ISSUER" "$CLIENT_ID" "${SIGN_IN%/}" "$CONSOLE_URL" >"$OUT/config.json" <<'PY'
import json, sys
issuer, client_id, domain, redirect = sys.argv[1:5]
console = {"signIn": "token"}
if domain:
    console = {"signIn": "oidc", "issuer": issuer, "clientId": client_id,
               "authorizeUrl": domain + "/oauth2/authorize", "tokenUrl": domain + "/oauth2/token",
               "redirectUri": redirect, "scope": "openid email"}
print(json.dumps({"api": "", "console": console}))
PY

DEST="s3://$BUCKET/"
SKIP=(--exclude "package.json" --exclude "README.md" --exclude "*.test.mjs" --exclude "*.test.js" --exclude ".*" --exclude "*/.*" --exclude "config.json")
# upload TYPE CACHE PATTERN...: the files matching the patterns, with their content type.
upload() {
  local type=$1 cache=$2 args=(--exclude "*") p
  shift 2
  for p in "$@"; do args+=(--include "$p"); done
  aws s3 cp "$WEB/" "$DEST" --recursive --only-show-errors "${args[@]}" "${SKIP[@]}" \
    --content-type "$type" --cache-control "$cache"
}
upload "text/html; charset=utf-8" "no-cache" "*.html"
upload "text/javascript; charset=utf-8" "max-age=300" "*.js" "*.mjs"
upload "text/css; charset=utf-8" "max-age=300" "*.css"
upload "image/svg+xml" "max-age=300" "*.svg"
upload "application/json" "max-age=300" "*.json"
# Anything else with the CLI's guess, and away with what web/ no longer has.
aws s3 sync "$WEB/" "$DEST" --delete --only-show-errors "${SKIP[@]}" --cache-control "max-age=300"
aws s3 cp "$OUT/config.json" "${DEST}config.json" --only-show-errors \
  --content-type "application/json" --cache-control "no-store"

INVALIDATION=$(aws cloudfront create-invalidation --distribution-id "$DISTRIBUTION" --paths "/*" \
  --query Invalidation.Id --output text)
echo "publish-web: published $WEB to $BUCKET; invalidation $INVALIDATION of $DISTRIBUTION (a few minutes)"
echo "publish-web: privacy center $(value Outputs SiteUrl), DPO console $CONSOLE_URL"
