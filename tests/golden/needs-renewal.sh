#!/bin/bash
set -euo pipefail
cert=${1:?usage: needs-renewal CERT}
dates=$(openssl x509 -in "$cert" -noout -startdate -enddate 2>/dev/null) || exit 0
start=$(date -d "$(sed -n 's/^notBefore=//p' <<< "$dates")" +%s)
end=$(date -d "$(sed -n 's/^notAfter=//p' <<< "$dates")" +%s)
due=$(( start + (end - start) * ${RENEW_AFTER_PERCENT:-66} / 100 ))
if [ "$(date +%s)" -ge "$due" ]; then
  echo "$cert is due for renewal"
  exit 0
fi
echo "$cert is not due before $(date -u -d "@$due" +%FT%TZ)"
exit 1
