#!/bin/sh
# MariaDB from Debian's packages, started as the official `mariadb` image
# starts: the first start (an empty data directory) initialises it from
# MYSQL_ROOT_PASSWORD, MYSQL_DATABASE, MYSQL_USER and MYSQL_PASSWORD (or
# their MARIADB_ names); later starts keep the data and only serve it.
set -eu

: "${MYSQL_ROOT_PASSWORD:=${MARIADB_ROOT_PASSWORD:-}}"
: "${MYSQL_DATABASE:=${MARIADB_DATABASE:-}}"
: "${MYSQL_USER:=${MARIADB_USER:-}}"
: "${MYSQL_PASSWORD:=${MARIADB_PASSWORD:-}}"

datadir=/var/lib/mysql
mkdir -p "$datadir" /run/mysqld
chown -R mysql:mysql "$datadir" /run/mysqld

# Quotes a value for a single-quoted SQL string.
sql_quote() { printf '%s' "$1" | sed "s/'/''/g"; }

if [ ! -d "$datadir/mysql" ]; then
    if [ -z "$MYSQL_ROOT_PASSWORD" ]; then
        echo "entrypoint: MYSQL_ROOT_PASSWORD is not set: a first start needs it to initialise the database" >&2
        exit 1
    fi
    echo "entrypoint: initialising the database in $datadir"
    mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db --auth-root-authentication-method=normal >/dev/null
    # A server on the socket only (no TCP, so the health check does not pass
    # before the initialisation is done).
    mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket=/run/mysqld/init.sock &
    pid=$!
    for _ in $(seq 1 60); do
        mariadb-admin --socket=/run/mysqld/init.sock ping --silent 2>/dev/null && break
        sleep 0.5
    done
    {
        echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$(sql_quote "$MYSQL_ROOT_PASSWORD")';"
        echo "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$(sql_quote "$MYSQL_ROOT_PASSWORD")';"
        echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
        if [ -n "$MYSQL_DATABASE" ]; then
            echo "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;"
        fi
        if [ -n "$MYSQL_USER" ] && [ -n "$MYSQL_PASSWORD" ]; then
            echo "CREATE USER '$(sql_quote "$MYSQL_USER")'@'%' IDENTIFIED BY '$(sql_quote "$MYSQL_PASSWORD")';"
            if [ -n "$MYSQL_DATABASE" ]; then
                echo "GRANT ALL ON \`$MYSQL_DATABASE\`.* TO '$(sql_quote "$MYSQL_USER")'@'%';"
            fi
        fi
        echo "FLUSH PRIVILEGES;"
    } | mariadb --socket=/run/mysqld/init.sock -uroot
    mariadb-admin --socket=/run/mysqld/init.sock -uroot -p"$MYSQL_ROOT_PASSWORD" shutdown
    wait "$pid" || true
    echo "entrypoint: database initialised"
fi

exec mariadbd --user=mysql --datadir="$datadir" --bind-address=0.0.0.0 --port=3306 \
    --socket=/run/mysqld/mysqld.sock "$@"
