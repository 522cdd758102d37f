set -eu
exec docker run --rm -i --network none --user 0:0 --entrypoint /bin/bash --mount "type=volume,source=$REDIS_TLS_VOLUME,target=/etc/redis-tls" --mount "type=volume,source=$REDIS_TLS_DATA,target=/data" "$REDIS_TLS_IMAGE" -c "$(cat <<'REDIS_TLS_SCRIPT'
echo in the helper
REDIS_TLS_SCRIPT
)"
