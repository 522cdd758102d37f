set -eu
exec docker exec -i --user 0:redis "$REDIS_TLS_CONTAINER" /bin/bash -c "$(cat <<'REDIS_TLS_SCRIPT'
echo in the server
REDIS_TLS_SCRIPT
)"
