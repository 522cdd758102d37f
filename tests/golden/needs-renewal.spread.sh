#!/bin/bash
set -euo pipefail
cert=${1:?usage: needs-renewal CERT}
dates=$(openssl x509 -in "$cert" -noout -startdate -enddate 2>/dev/null) || exit 0
start=$(date -d "$(sed -n 's/^notBefore=//p' <<< "$dates")" +%s)
end=$(date -d "$(sed -n 's/^notAfter=//p' <<< "$dates")" +%s)
if [ -n "${RENEW_AFTER_PERCENT:-}" ]; then
  due=$(( start + (end - start) * RENEW_AFTER_PERCENT / 100 ))
else
  # This host's own point of 34-90% of the lifetime: a fleet issued at once does not renew at once.
  id=$(cat "${MACHINE_ID_FILE:-/etc/machine-id}" 2> /dev/null || uname -n)
  point=$(( 0x$(printf '%s' "$id" | sha256sum | cut -c1-8) % 10000 ))
  due=$(( start + (end - start) * (34 * 10000 + point * 56) / 1000000 ))
fi
if [ "$(date +%s)" -ge "$due" ]; then
  echo "$cert is due for renewal"
  exit 0
fi
echo "$cert is not due before $(date -u -d "@$due" +%FT%TZ)"
exit 1
