set -euo pipefail
umask 077
dropin='/etc/redis/tls.conf' conf='/etc/redis/redis.conf' unit='redis-server'
tmp=$(mktemp "$dropin.XXXXXX")
trap 'rm -f "$tmp" "$conf.tmp"' EXIT
cat > "$tmp"
chown root:redis "$tmp"
chmod 0640 "$tmp"
changed=no
install -d -m 0750 -o root -g redis "$(dirname '/etc/redis/tls/reload.acl')"
pass='/etc/redis/tls/reload.pass' acl='/etc/redis/tls/reload.acl'
if [ ! -s "$pass" ]; then
  (umask 077 && openssl rand -hex 32 > "$pass.tmp" && mv -f "$pass.tmp" "$pass")
fi
chown root:root "$pass"
chmod 0600 "$pass"
hash=$(tr -d '\n' < "$pass" | sha256sum | cut -d' ' -f1)
printf 'user redis-tls-reload on #%s resetchannels -@all +config|set\n' "$hash" > "$acl.tmp"
chown root:redis "$acl.tmp"
chmod 0640 "$acl.tmp"
if cmp -s "$acl.tmp" "$acl"; then rm -f "$acl.tmp"; else mv -f "$acl.tmp" "$acl"; changed=yes; fi
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
