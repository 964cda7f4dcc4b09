#!/usr/bin/env bash
# The web app (web/): installs its npm packages from web/package-lock.json (npm ci, only
# when the lock changed) and builds web/dist (esbuild; fails above the size budget).
#   scripts/web.sh [build]        what `make up` and `make test` run
#   scripts/web.sh deploy STACK   writes config.js from the stack's outputs and uploads
#                                 web/dist to its WebAppBucketName (aws cli, your credentials)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/web"
log() { printf '[web] %s\n' "$*" >&2; }

command -v npm >/dev/null 2>&1 || { log "node and npm are needed to build the web app (make tools installs them)"; exit 1; }

install() {
  local stamp="$DIR/node_modules/.package-lock.sha256" want
  want="$(sha256sum "$DIR/package-lock.json" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing the web app's packages (npm ci in web/)"
    npm ci --prefix "$DIR" --no-audit --no-fund --loglevel=error >&2
    echo "$want" > "$stamp"
  fi
}

build() {
  install
  node "$DIR/build.mjs"
}

deploy() {
  local stack="${1:?usage: scripts/web.sh deploy STACK}" aws="${AWS_CLI:-aws}" out
  build
  out() { "$aws" cloudformation describe-stacks --stack-name "$stack" \
            --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text; }
  local api events chat domain client app bucket region
  api="$(out ApiUrl)"; events="$(out EventsFunctionUrl)"; chat="$(out ChatFunctionUrl)"; domain="$(out UserPoolDomainUrl)"
  client="$(out UserPoolClientId)"; app="$(out WebAppUrl)"; bucket="$(out WebAppBucketName)"
  region="$("$aws" configure get region || echo "${AWS_REGION:-us-east-1}")"
  # The one file that differs per stack: where the API, the events, the chat (a streaming
  # function URL: API Gateway would buffer the answer) and the sign-in are.
  cat > "$DIR/dist/config.js" <<JS
window.SLUICE_CONFIG = $(node -e 'console.log(JSON.stringify({
  apiUrl: process.argv[1].replace(/\/$/, ""), eventsUrl: process.argv[2].replace(/\/$/, ""),
  chatUrl: process.argv[6].replace(/\/$/, ""),
  auth: { mode: "cognito", domain: process.argv[3].replace(/\/$/, ""), clientId: process.argv[4], redirectUri: process.argv[5] },
}))' "$api" "$events" "$domain" "$client" "$app" "$chat");
JS
  "$aws" s3 sync "$DIR/dist" "s3://$bucket/" --delete --exclude size.json --cache-control no-cache
  log "deployed to $app (region $region)"
}

case "${1:-build}" in
  build) build ;;
  deploy) shift; deploy "$@" ;;
  *) echo "usage: $0 [build] | deploy STACK" >&2; exit 2 ;;
esac
