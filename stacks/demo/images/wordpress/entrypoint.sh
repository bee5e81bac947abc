#!/bin/sh
# WordPress from Debian's packages, configured as the official `wordpress`
# image is: from WORDPRESS_DB_HOST, WORDPRESS_DB_USER, WORDPRESS_DB_PASSWORD,
# WORDPRESS_DB_NAME (and WORDPRESS_TABLE_PREFIX), read by PHP at each request.
# The secret keys are made once and kept in wp-content (a volume), so that a
# recreated container does not log everyone out.
set -eu

content=/var/lib/wordpress/wp-content
mkdir -p "$content/uploads" "$content/plugins" "$content/themes"
if [ -z "$(ls -A "$content/themes")" ] && [ -d /usr/share/wordpress/wp-content/themes ]; then
    cp -a /usr/share/wordpress/wp-content/themes/. "$content/themes/"
fi
keys="$content/.berth-keys.php"
if [ ! -s "$keys" ]; then
    {
        echo '<?php'
        for k in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
            printf "define('%s', '%s');\n" "$k" "$(head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        done
    } > "$keys"
fi
chown -R www-data:www-data "$content"

cat > /etc/wordpress/config-default.php <<'PHP'
<?php
$e = function ($name, $default) {
    $v = getenv($name);
    return ($v === false || $v === '') ? $default : $v;
};
define('DB_NAME', $e('WORDPRESS_DB_NAME', 'wordpress'));
define('DB_USER', $e('WORDPRESS_DB_USER', 'example username'));
define('DB_PASSWORD', $e('WORDPRESS_DB_PASSWORD', 'example password'));
define('DB_HOST', $e('WORDPRESS_DB_HOST', 'mysql'));
define('DB_CHARSET', 'utf8mb4');
define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
$table_prefix = $e('WORDPRESS_TABLE_PREFIX', 'wp_');
require '/var/lib/wordpress/wp-content/.berth-keys.php';
PHP

# envvars reads variables it may leave unset.
set +u
. /etc/apache2/envvars
mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR"
exec apache2 -D FOREGROUND "$@"
