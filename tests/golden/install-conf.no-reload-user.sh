set -euo pipefail
umask 077
dropin='/etc/redis/tls.conf' conf='/etc/redis/redis.conf' unit='redis-server'
tmp=$(mktemp "$dropin.XXXXXX")
trap 'rm -f "$tmp" "$conf.tmp"' EXIT
cat > "$tmp"
chown root:redis "$tmp"
chmod 0640 "$tmp"
changed=no
if ! cmp -s "$tmp" "$dropin"; then
  mv -f "$tmp" "$dropin"
  changed=yes
fi
if ! grep -qxF "include $dropin" "$conf"; then
  cp -p "$conf" "$conf.tmp"
  printf '\ninclude %s\n' "$dropin" >> "$conf.tmp"
  mv -f "$conf.tmp" "$conf"
  changed=yes
fi
if [ "$changed" = yes ] || ! systemctl is-active --quiet "$unit"; then
  systemctl restart "$unit"
  echo "restarted $unit"
else
  echo "unchanged"
fi
systemctl is-active --quiet "$unit"
