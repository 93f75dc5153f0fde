#!/usr/bin/env bash
# The loopback test cluster: OpenSSH (key, password, keyboard-interactive, and a second port that
# demands password + TOTP code like Duo), munge, MariaDB + slurmdbd, slurmctld, slurmd and Lmod
# with a stand-in namd3. Test infrastructure only: every listener is on 127.0.0.1 (the Slurm daemons,
# which bind the wildcard address whatever their config says, run with an LD_PRELOAD shim compiled
# here that turns that bind into loopback) and all state lives under $NR_CLUSTER_DIR (default
# /var/tmp/namdrunner-cluster).
#
# What it creates on the machine: the system account $NR_TEST_USER (default nrtest, home inside the
# state dir, NO usable system password: only this cluster's own sshd accepts its per-machine random
# password, through its own PAM services), /etc/pam.d/namdrunner-test-{pw,2fa} (removed by down), and
# the state dir. `down --purge` removes the account, its home and the state dir.
#
#   cluster.sh up              install what is missing (apt, as root) and start everything
#   cluster.sh down            stop what this script started, proved by pid file + command line, and job
#                              steps by this cluster's SLURM_CONF in their environment  (--purge: also
#                              remove the state dir and the account; --dry-run: only list what it would stop)
#   cluster.sh status          one line per daemon, then the listener check; exit 0 only when all run
#                              and every listener of the cluster is on loopback
#   cluster.sh env             the exports the tests read
#
# Like a real site (CU Boulder Alpine): Slurm works only after `module load slurm/nrcluster`; port
# 2224 wants a public key THEN a one-time code; ports 2225 and 2226 want the password, then a
# Duo-shaped second factor (Duo's menu of passcode / push / phone call, or an automatic push); a jump
# host (169.254.71.2:2230, password + code, in the network namespace nr-site) fronts a login node
# (127.0.0.1:2231 inside that namespace only).
# Switches for tests: `fault sbatch hang|socket-timeout` (the next sbatch queues the job, then hangs or
# fails as Slurm does), `duo approve N|deny N|never` (what the phone does with the next push),
# `accounting off|on` (sacct fails), `min-job-age N` (finished jobs leave squeue after N s),
# `controller pause|resume|reset N` (a controller that stops answering; one that lost its state and
# hands out ids again from N), `requeue on|off` (JobRequeue after a node failure), `node down|resume`
# (the node fails under its jobs), `fault sbatch late N` (sbatch reaches the controller after N s),
# `reservation maint IN DURATION|clear` (a maintenance window in IN minutes, for DURATION minutes).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE="${NR_CLUSTER_DIR:-/var/tmp/namdrunner-cluster}"
SSH_PORT="${NR_SSH_PORT:-2222}"
SSH_2FA_PORT="${NR_SSH_2FA_PORT:-2223}"
SSH_KEYCODE_PORT="${NR_SSH_KEYCODE_PORT:-2224}"
SSH_DUO_PORT="${NR_SSH_DUO_PORT:-2225}"          # password, then Duo's menu (passcode, push, phone call)
SSH_DUOAUTO_PORT="${NR_SSH_DUOAUTO_PORT:-2226}"  # password, then an automatic push (no second prompt)
DUO_PASSCODE="246810"                            # the test second factor's fixed passcode
# The "site": a jump host in front of a login node nobody reaches directly, inside a network namespace
# this script makes (a veth pair with link-local addresses; nothing of it is on the host's networks).
SITE_NS="nr-site"
SITE_VETH="nr-site0"
SITE_HOST_ADDR="169.254.71.1"
JUMP_ADDR="169.254.71.2"
JUMP_PORT="${NR_JUMP_PORT:-2230}"
LOGIN_PORT="${NR_LOGIN_PORT:-2231}"
SLURMCTLD_PORT="${NR_SLURMCTLD_PORT:-16817}"
SLURMD_PORT="${NR_SLURMD_PORT:-16818}"
SLURMDBD_PORT="${NR_SLURMDBD_PORT:-16819}"
MARIADB_PORT="${NR_MARIADB_PORT:-13306}"
TEST_USER="${NR_TEST_USER:-nrtest}"
# The test user's password is random per machine (made by 'up', kept in $STATE/secret, root only);
# the TOTP secret and the database password are test-only values of daemons that listen on loopback.
TOTP_SECRET="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
DB_PASSWORD="nr-slurmdbd-test-pw"
CLUSTER_NAME="nrcluster"
NODE_NAME="nr-node1"
PAM_SERVICE="namdrunner-test-2fa"
PAM_PW_SERVICE="namdrunner-test-pw"
PAM_CODE_SERVICE="namdrunner-test-code"
PAM_DUO_SERVICE="namdrunner-test-duo"
PAM_DUOAUTO_SERVICE="namdrunner-test-duoauto"
SLURM_MODULE="slurm/$CLUSTER_NAME"
SHIM="$STATE/lib/bind_loopback.so"
HOST_SHORT="$(hostname -s)"

export SLURM_CONF="$STATE/slurm/slurm.conf"

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] ERROR: %s\n' "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (it installs packages, adds the test user and starts daemons)"; }

pid_alive() { # pidfile [command-line word]: alive AND really ours (pid files outlive reboots and kills)
    local pid
    [ -f "$1" ] || return 1
    pid=$(cat "$1" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    [ -z "${2:-}" ] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

wait_for() { # seconds description command...
    local secs=$1 what=$2; shift 2
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "timed out after ${secs}s waiting for $what"
        sleep 0.3
    done
}

install_packages() {
    local missing=()
    command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
    command -v ssh-keygen >/dev/null || missing+=(openssh-client)
    [ -x /usr/sbin/munged ] || missing+=(munge)
    [ -x /usr/sbin/slurmctld ] || missing+=(slurmctld)
    [ -x /usr/sbin/slurmd ] || missing+=(slurmd)
    [ -x /usr/sbin/slurmdbd ] || missing+=(slurmdbd)
    command -v sbatch >/dev/null || missing+=(slurm-client)
    command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
    [ -f /usr/share/lmod/lmod/init/bash ] || missing+=(lmod)
    [ -f /lib/x86_64-linux-gnu/security/pam_google_authenticator.so ] \
        || ls /lib/*/security/pam_google_authenticator.so >/dev/null 2>&1 \
        || missing+=(libpam-google-authenticator)
    command -v rsync >/dev/null || missing+=(rsync)
    [ -x /usr/bin/python3 ] || missing+=(python3)
    command -v pkill >/dev/null || missing+=(procps)
    command -v ss >/dev/null && command -v ip >/dev/null || missing+=(iproute2)
    command -v cc >/dev/null || missing+=(gcc libc6-dev)
    [ -f /usr/include/security/pam_modules.h ] || missing+=(libpam0g-dev)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # policy-rc.d keeps Debian's maintainer scripts from starting the system's own daemons.
        local policy_added=0
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
            policy_added=1
        fi
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        if [ "$policy_added" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
    fi
}

setup_user() {
    mkdir -p "$STATE/home"
    chmod 755 "$STATE" "$STATE/home"
    if ! id "$TEST_USER" >/dev/null 2>&1; then
        useradd -m -d "$STATE/home/$TEST_USER" -s /bin/bash "$TEST_USER"
    else
        mkdir -p "$STATE/home/$TEST_USER"
        usermod -d "$STATE/home/$TEST_USER" "$TEST_USER"
        chown "$TEST_USER:" "$STATE/home/$TEST_USER"
    fi
    # No usable system password ('*'): the machine's own sshd (or su, login) cannot be used with it.
    # This cluster's sshd checks the random password below through its own PAM services instead.
    usermod -p '*' "$TEST_USER" >/dev/null 2>&1 || true
    mkdir -p "$STATE/secret"
    chmod 700 "$STATE/secret"
    if [ ! -s "$STATE/secret/password" ]; then
        (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$STATE/secret/password")
    fi
    chmod 600 "$STATE/secret/password"
    # Alpine-like storage roots, owned by the test user.
    mkdir -p "$STATE/remote/projects/$TEST_USER" "$STATE/remote/scratch/$TEST_USER"
    chmod 755 "$STATE/remote" "$STATE/remote/projects" "$STATE/remote/scratch"
    chown "$TEST_USER:" "$STATE/remote/projects/$TEST_USER" "$STATE/remote/scratch/$TEST_USER"
}

setup_ssh() {
    local d="$STATE/ssh"
    mkdir -p "$d/authorized_keys" "$STATE/run" "$STATE/log" "$STATE/bin" /run/sshd
    chmod 755 "$d" "$d/authorized_keys"
    [ -f "$d/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/ssh_host_ed25519_key"
    [ -f "$d/ssh_host_rsa_key" ] || ssh-keygen -q -t rsa -b 3072 -N '' -f "$d/ssh_host_rsa_key"
    [ -f "$d/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "namdrunner-test" -f "$d/id_ed25519"
    cp "$d/id_ed25519.pub" "$d/authorized_keys/$TEST_USER"
    chmod 644 "$d/authorized_keys/$TEST_USER"

    local common
    common="ListenAddress 127.0.0.1
HostKey $d/ssh_host_ed25519_key
HostKey $d/ssh_host_rsa_key
AuthorizedKeysFile $d/authorized_keys/%u
StrictModes no
UsePAM yes
PermitRootLogin no
AllowUsers $TEST_USER
PrintMotd no
LogLevel VERBOSE
MaxStartups 30:30:100
ClientAliveInterval 30
Subsystem sftp /usr/lib/openssh/sftp-server
SetEnv LMOD_SITE_MODULEPATH=$STATE/modulefiles"

    cat >"$d/sshd_config" <<EOF
# namdrunner loopback test cluster: key, password and keyboard-interactive logins.
Port $SSH_PORT
PidFile $STATE/run/sshd.pid
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication yes
$common
EOF

    # Second port: keyboard-interactive through its own PAM stack (password, then a TOTP code),
    # the shape of a Duo login. OpenSSH names the PAM service after the program, so this sshd
    # runs through a link named after the service.
    cat >"$d/sshd_2fa_config" <<EOF
# namdrunner loopback test cluster: password + second factor (keyboard-interactive, PAM).
Port $SSH_2FA_PORT
PidFile $STATE/run/sshd_2fa.pid
PubkeyAuthentication no
PasswordAuthentication no
KbdInteractiveAuthentication yes
AuthenticationMethods keyboard-interactive
$common
EOF
    # Third port: a public key and THEN a code (partial authentication), as sites with "Duo after a key".
    cat >"$d/sshd_keycode_config" <<EOF
# namdrunner loopback test cluster: publickey, then keyboard-interactive (a TOTP code).
Port $SSH_KEYCODE_PORT
PidFile $STATE/run/sshd_keycode.pid
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication yes
AuthenticationMethods publickey,keyboard-interactive
$common
EOF
    # The jump host (its own host key; password + code, as a site's bastion) and the login node behind
    # it (a key), both inside the site namespace: the login node listens only on the namespace's own
    # loopback, so a client that skips the jump cannot reach it.
    [ -f "$d/jump_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/jump_host_ed25519_key"
    [ -f "$d/login_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/login_host_ed25519_key"
    cat >"$d/sshd_jump_config" <<EOF
# namdrunner loopback test cluster: the site's jump host (password + code), forwarding to the login node only.
Port $JUMP_PORT
ListenAddress $JUMP_ADDR
HostKey $d/jump_host_ed25519_key
PidFile $STATE/run/sshd_jump.pid
UsePAM yes
PubkeyAuthentication no
PasswordAuthentication no
KbdInteractiveAuthentication yes
AuthenticationMethods keyboard-interactive
AllowUsers $TEST_USER
PermitRootLogin no
AllowTcpForwarding yes
PermitOpen 127.0.0.1:$LOGIN_PORT
StrictModes no
LogLevel VERBOSE
EOF
    cat >"$d/sshd_login_config" <<EOF
# namdrunner loopback test cluster: the site's login node, reachable only through the jump host.
Port $LOGIN_PORT
ListenAddress 127.0.0.1
HostKey $d/login_host_ed25519_key
PidFile $STATE/run/sshd_login.pid
AuthorizedKeysFile $d/authorized_keys/%u
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
AllowUsers $TEST_USER
PermitRootLogin no
StrictModes no
LogLevel VERBOSE
EOF
    # Duo-shaped ports: the password, then the test's own Duo module (pam_nrduo.c): a menu with
    # passcode / push / phone call, or an automatic push.
    local port service
    for pair in "duo:$SSH_DUO_PORT" "duoauto:$SSH_DUOAUTO_PORT"; do
        service=${pair%%:*}; port=${pair#*:}
        cat >"$d/sshd_${service}_config" <<EOF
# namdrunner loopback test cluster: password + a Duo-shaped second factor ($service).
Port $port
PidFile $STATE/run/sshd_${service}.pid
PubkeyAuthentication no
PasswordAuthentication no
KbdInteractiveAuthentication yes
AuthenticationMethods keyboard-interactive
LoginGraceTime 300
$common
EOF
    done
    ln -sf /usr/sbin/sshd "$STATE/bin/$PAM_SERVICE"
    ln -sf /usr/sbin/sshd "$STATE/bin/$PAM_PW_SERVICE"
    ln -sf /usr/sbin/sshd "$STATE/bin/$PAM_CODE_SERVICE"
    ln -sf /usr/sbin/sshd "$STATE/bin/$PAM_DUO_SERVICE"
    ln -sf /usr/sbin/sshd "$STATE/bin/$PAM_DUOAUTO_SERVICE"

    # The password check of both PAM services: the test user and this machine's random password only.
    cat >"$STATE/bin/check_password" <<EOF
#!/bin/bash
# pam_exec (expose_authtok) password check of the namdrunner loopback TEST cluster; nothing else uses it.
[ "\${PAM_USER:-}" = "$TEST_USER" ] || exit 1
IFS= read -r -d '' given || true
expected=\$(cat "$STATE/secret/password" 2>/dev/null) || exit 1
[ -n "\$expected" ] && [ "\$given" = "\$expected" ]
EOF
    chown root: "$STATE/bin/check_password"
    chmod 700 "$STATE/bin/check_password"
    cat >"/etc/pam.d/$PAM_PW_SERVICE" <<EOF
# Written by namdrunner's tests/cluster/cluster.sh for the loopback test cluster; removed by 'down'.
auth required pam_exec.so quiet expose_authtok $STATE/bin/check_password
# pam_exec ignores setcred, and a stack in which every module ignores it fails: pam_permit answers it
# (authentication itself still needs pam_exec's 'required' success).
auth optional pam_permit.so
@include common-account
@include common-session
EOF

    local gdir="$STATE/2fa"
    mkdir -p "$gdir"
    printf '%s\n" TOTP_AUTH\n" WINDOW_SIZE 5\n' "$TOTP_SECRET" >"$gdir/$TEST_USER.google_authenticator"
    chown -R "$TEST_USER:" "$gdir"
    chmod 700 "$gdir"
    chmod 600 "$gdir/$TEST_USER.google_authenticator"
    cat >"/etc/pam.d/$PAM_SERVICE" <<EOF
# Written by namdrunner's tests/cluster/cluster.sh for the loopback test cluster; removed by 'down'.
# requisite: a wrong password fails at once (as Duo's docs advise for password + second factor)
auth requisite pam_exec.so quiet expose_authtok $STATE/bin/check_password
auth required pam_google_authenticator.so secret=$gdir/\${USER}.google_authenticator user=$TEST_USER
@include common-account
@include common-session
EOF
    build_duo_module
    mkdir -p "$STATE/duo"
    [ -f "$STATE/duo/control" ] || echo "approve 1" >"$STATE/duo/control"
    chmod 755 "$STATE/duo"
    chmod 644 "$STATE/duo/control"
    cat >"/etc/pam.d/$PAM_DUO_SERVICE" <<EOF
# Written by namdrunner's tests/cluster/cluster.sh for the loopback test cluster; removed by 'down'.
auth requisite pam_exec.so quiet expose_authtok $STATE/bin/check_password
auth required $STATE/lib/pam_nrduo.so passcode=$DUO_PASSCODE control=$STATE/duo/control
@include common-account
@include common-session
EOF
    cat >"/etc/pam.d/$PAM_DUOAUTO_SERVICE" <<EOF
# Written by namdrunner's tests/cluster/cluster.sh for the loopback test cluster; removed by 'down'.
auth requisite pam_exec.so quiet expose_authtok $STATE/bin/check_password
auth required $STATE/lib/pam_nrduo.so autopush control=$STATE/duo/control
@include common-account
@include common-session
EOF
    cat >"/etc/pam.d/$PAM_CODE_SERVICE" <<EOF
# Written by namdrunner's tests/cluster/cluster.sh for the loopback test cluster; removed by 'down'.
# The code after a key: the key was checked by sshd, PAM asks only for the one-time code.
auth required pam_google_authenticator.so secret=$gdir/\${USER}.google_authenticator user=$TEST_USER
@include common-account
@include common-session
EOF
}

setup_munge() {
    # Slurm's clients always use munge's default socket, so one munged there serves all.
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        log "munge: using the munged already running"
        return
    fi
    local d="$STATE/munge"
    mkdir -p "$d" /run/munge
    if [ ! -f "$d/munge.key" ]; then
        dd if=/dev/urandom bs=1 count=1024 of="$d/munge.key" status=none
    fi
    chown -R munge:munge "$d" /run/munge
    chmod 700 "$d"; chmod 400 "$d/munge.key"; chmod 755 /run/munge
    # --force: a socket left by a killed munged would otherwise stop it.
    runuser -u munge -- /usr/sbin/munged --force --key-file="$d/munge.key" --pid-file="$d/munged.pid" \
        --log-file="$d/munged.log" --seed-file="$d/munged.seed" --socket=/run/munge/munge.socket.2
    cp "$d/munged.pid" "$STATE/run/munged.pid" 2>/dev/null || true
    wait_for 10 munge bash -c 'munge -n | unmunge'
}

setup_mariadb() {
    local d="$STATE/mysql"
    mkdir -p "$d"
    if [ ! -d "$d/data/mysql" ]; then
        mariadb-install-db --no-defaults --datadir="$d/data" --user=root \
            --auth-root-authentication-method=normal >"$STATE/log/mariadb-install.log" 2>&1 \
            || die "mariadb-install-db failed; see $STATE/log/mariadb-install.log"
    fi
    if ! pid_alive "$STATE/run/mariadb.pid" mariadbd; then
        setsid nohup mariadbd --no-defaults --datadir="$d/data" --socket="$d/mysql.sock" \
            --port="$MARIADB_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
            --pid-file="$STATE/run/mariadb.pid" --log-error="$STATE/log/mariadb.log" --user=root \
            --innodb-buffer-pool-size=64M --innodb-lock-wait-timeout=900 \
            >/dev/null 2>&1 </dev/null &
    fi
    wait_for 60 mariadb mariadb --no-defaults -S "$d/mysql.sock" -u root -e 'SELECT 1'
    # slurmdbd talks TCP to 127.0.0.1, so that is the host in the grant.
    mariadb --no-defaults -S "$d/mysql.sock" -u root <<EOF
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
FLUSH PRIVILEGES;
EOF
}

write_slurm_conf() {
    local d="$STATE/slurm"
    mkdir -p "$d/state" "$d/spool"
    cat >"$d/slurm.conf" <<EOF
# namdrunner loopback test cluster (one node, Alpine-like partitions and QOS)
ClusterName=$CLUSTER_NAME
SlurmctldHost=$HOST_SHORT(127.0.0.1)
SlurmctldPort=$SLURMCTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
SlurmdParameters=config_overrides
DefMemPerCPU=256
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$SLURMDBD_PORT
AccountingStorageEnforce=associations,limits,qos
AccountingStorageTRES=gres/gpu
# Accounting gathers CPU time and memory, so sacct's TotalCPU/MaxRSS are real numbers (namdrunner usage).
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=2
JobCompType=jobcomp/none
MinJobAge=30
KillWait=5
InactiveLimit=0
Waittime=0
MessageTimeout=20
SlurmctldTimeout=30
SlurmdTimeout=120
MaxJobCount=20000
# Below Slurm's default 1001, as sites set it: job arrays (sweeps, replicas) are checked against it.
MaxArraySize=201
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
NodeName=$NODE_NAME NodeHostname=$HOST_SHORT NodeAddr=127.0.0.1 CPUs=16 Sockets=1 CoresPerSocket=16 ThreadsPerCore=1 RealMemory=32000 Gres=gpu:tgpu:2 State=UNKNOWN
PartitionName=amilan Nodes=$NODE_NAME Default=YES MaxTime=7-00:00:00 State=UP AllowQos=normal,long PreemptMode=OFF
PartitionName=atesting Nodes=$NODE_NAME MaxTime=01:00:00 State=UP AllowQos=testing PreemptMode=OFF
# A GPU partition: the node advertises two GPUs of a test type (no devices behind them; gres.conf),
# so GPU jobs really queue with --gres=gpu:tgpu:N and run the stand-in.
PartitionName=agpu Nodes=$NODE_NAME MaxTime=1-00:00:00 State=UP AllowQos=normal PreemptMode=OFF
# Preemption as on Blanca: a job in "aurgent" (higher PriorityTier) takes the node from a job in the
# preemptible "apreempt", which Slurm requeues (PreemptMode=REQUEUE); the other partitions are never
# preempted (their PreemptMode=OFF).
PartitionName=apreempt Nodes=$NODE_NAME MaxTime=1-00:00:00 State=UP AllowQos=normal PriorityTier=1 PreemptMode=REQUEUE
PartitionName=aurgent Nodes=$NODE_NAME MaxTime=01:00:00 State=UP AllowQos=normal PriorityTier=10 PreemptMode=OFF
EOF
    # Two "GPUs" of type tgpu: device nodes in the state dir that behave like /dev/null (char 1,3).
    mkdir -p "$STATE/dev"
    for n in 0 1; do
        [ -c "$STATE/dev/nrgpu$n" ] || mknod "$STATE/dev/nrgpu$n" c 1 3
    done
    cat >"$d/gres.conf" <<EOF
# namdrunner loopback test cluster: two GPUs of type "tgpu" (null devices; test stand-in only)
NodeName=$NODE_NAME Name=gpu Type=tgpu File=$STATE/dev/nrgpu[0-1]
EOF
    chmod 644 "$d/gres.conf"
    cat >"$d/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=$HOST_SHORT
DbdAddr=127.0.0.1
DbdPort=$SLURMDBD_PORT
SlurmUser=root
PidFile=$STATE/run/slurmdbd.pid
LogFile=$STATE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$MARIADB_PORT
StorageUser=slurm
StoragePass=$DB_PASSWORD
StorageLoc=slurm_acct_db
EOF
    chmod 600 "$d/slurmdbd.conf"
    chmod 644 "$d/slurm.conf"
    chmod 755 "$d"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

build_duo_module() { # the Duo-shaped PAM module of the test cluster (see pam_nrduo.c)
    mkdir -p "$STATE/lib"
    local so="$STATE/lib/pam_nrduo.so"
    if [ ! -f "$so" ] || [ "$HERE/pam_nrduo.c" -nt "$so" ]; then
        cc -shared -fPIC -O2 -Wall -o "$so.tmp" "$HERE/pam_nrduo.c" -lpam || die "compiling the Duo PAM module failed"
        mv "$so.tmp" "$so"
    fi
    chown root: "$so"
    chmod 755 "$STATE/lib"
    chmod 644 "$so"
}

build_shim() { # the LD_PRELOAD shim that keeps Slurm's wildcard binds on loopback (see bind_loopback.c)
    mkdir -p "$STATE/lib"
    if [ ! -f "$SHIM" ] || [ "$HERE/bind_loopback.c" -nt "$SHIM" ]; then
        cc -shared -fPIC -O2 -Wall -o "$SHIM.tmp" "$HERE/bind_loopback.c" -ldl || die "compiling the bind shim failed"
        mv "$SHIM.tmp" "$SHIM"
    fi
    chmod 755 "$STATE/lib" "$SHIM"
}

start_slurm() {
    build_shim
    if ! pid_alive "$STATE/run/slurmdbd.pid" slurmdbd; then
        LD_PRELOAD="$SHIM" slurmdbd
    fi
    wait_for 60 slurmdbd port_open "$SLURMDBD_PORT"
    wait_for 30 "slurmdbd answers" sacctmgr -n show cluster
    # Accounting: the cluster, QOS with wall-time limits, an account and the users.
    sacctmgr -i add cluster "$CLUSTER_NAME" >/dev/null 2>&1 || true
    sacctmgr -i modify qos where name=normal set MaxWall=24:00:00 >/dev/null 2>&1 || true
    sacctmgr -i add qos long MaxWall=7-00:00:00 >/dev/null 2>&1 || true
    sacctmgr -i add qos testing MaxWall=01:00:00 >/dev/null 2>&1 || true
    # Per-user limits as sites set them (Alpine's cpu-long: MaxTRESPU nodes); `cluster detect` reads them.
    sacctmgr -i modify qos where name=long set MaxTRESPerUser=cpu=16,node=1 MaxJobsPerUser=20 \
        MaxSubmitJobsPerUser=50 >/dev/null 2>&1 || true
    sacctmgr -i modify qos where name=testing set MaxJobsPerUser=100 >/dev/null 2>&1 || true
    sacctmgr -i add account nrlab Cluster="$CLUSTER_NAME" Description=namdrunner-tests Organization=namdrunner >/dev/null 2>&1 || true
    for u in "$TEST_USER" root; do
        sacctmgr -i add user "$u" Account=nrlab Cluster="$CLUSTER_NAME" >/dev/null 2>&1 || true
        sacctmgr -i modify user where name="$u" set QOS=normal,long,testing DefaultQOS=normal >/dev/null 2>&1 || true
    done
    sacctmgr -n -P show assoc where user="$TEST_USER" format=user | grep -qx "$TEST_USER" \
        || die "no accounting association for $TEST_USER; see $STATE/log/slurmdbd.log"

    if ! pid_alive "$STATE/run/slurmctld.pid" slurmctld; then
        # Cold start (-c): jobs of an earlier run of this test cluster must not hold its one node.
        LD_PRELOAD="$SHIM" slurmctld -c -f "$SLURM_CONF"
    fi
    wait_for 60 slurmctld scontrol ping
    if ! pid_alive "$STATE/run/slurmd.pid" slurmd; then
        LD_PRELOAD="$SHIM" slurmd -c -f "$SLURM_CONF" -N "$NODE_NAME"
    fi
    wait_for 60 "node $NODE_NAME to register" bash -c \
        "sinfo -h -N -n $NODE_NAME -o '%T' | grep -Eqv 'unknown|down|not_responding|^$'"
    local st
    st=$(sinfo -h -N -n "$NODE_NAME" -o '%T' | head -1)
    case "$st" in
        *drain*|*down*) scontrol update nodename="$NODE_NAME" state=resume || true ;;
    esac
}

setup_modules() {
    local m="$STATE/modulefiles" bin="$STATE/opt/namd-standin/bin" mpibin="$STATE/opt/openmpi-shim/bin"
    local slurmbin="$STATE/opt/slurm-site/bin"
    mkdir -p "$m/gcc" "$m/namd" "$m/slurm" "$bin" "$mpibin" "$slurmbin" "$STATE/faults"
    chown "$TEST_USER:" "$STATE/faults"
    chmod 755 "$STATE/faults"
    # Slurm as on Alpine: nothing works until `module load slurm/<cluster>` (it sets SLURM_CONF).
    cat >"$m/slurm/$CLUSTER_NAME.lua" <<EOF
whatis("Slurm for the namdrunner loopback test cluster")
setenv("SLURM_CONF", "$STATE/slurm/slurm.conf")
prepend_path("PATH", "$slurmbin")
EOF
    # sbatch with faults a test can switch on, once each ($STATE/faults/sbatch, see 'cluster.sh fault'):
    #   hang            queue the job, then give no answer for a long time (a command time-out)
    #   socket-timeout  queue the job, then fail as Slurm does: "Socket timed out on send/recv operation"
#   late N          reach the controller only after N seconds (after the client gave up waiting)
    cat >"$slurmbin/sbatch" <<EOF
#!/bin/bash
# Test-cluster sbatch: the real one, unless a fault was switched on for the next call.
fault_file="$STATE/faults/sbatch"
fault=\$(cat "\$fault_file" 2>/dev/null); rm -f "\$fault_file"
case "\$fault" in
    hang) /usr/bin/sbatch "\$@" >/dev/null 2>&1; sleep 90; exit 1 ;;
    late\ *) sleep "\${fault#late }"; exec /usr/bin/sbatch "\$@" ;;
    socket-timeout)
        /usr/bin/sbatch "\$@" >/dev/null 2>&1
        echo "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation" >&2
        exit 1 ;;
    *) exec /usr/bin/sbatch "\$@" ;;
esac
EOF
    chmod 755 "$slurmbin/sbatch"
    install -m 755 "$HERE/namd3_standin.py" "$bin/namd3"
    ln -sf namd3 "$bin/namd2"
    # A one-process launcher: the stand-in is not an MPI program.
    cat >"$mpibin/mpirun" <<'EOF'
#!/bin/sh
# Test-cluster shim for mpirun: drops launcher options and runs the program once.
while [ $# -gt 0 ]; do
    case "$1" in
        -np|-n|--np|-N|--map-by|--bind-to) shift 2 ;;
        -*) shift ;;
        *) break ;;
    esac
done
exec "$@"
EOF
    chmod 755 "$mpibin/mpirun"
    # A hierarchical tree as on Alpine (Lmod): openmpi appears once gcc is loaded, namd/3.0.1_cpu once
    # openmpi is; only namd/2.14 is in the core tree (so `module avail namd` alone shows just that one).
    # The compiler and MPI trees live beside the core tree (as Lmod sites lay them out), not inside it.
    local comp="$STATE/modulefiles-hier/Compiler/gcc/14.2.0" mpi="$STATE/modulefiles-hier/MPI/gcc/14.2.0/openmpi/5.0.6"
    rm -rf "$m/openmpi" "$m/namd/3.0.1_cpu.lua" "$m/Compiler" "$m/MPI"
    mkdir -p "$comp/openmpi" "$mpi/namd"
    cat >"$m/gcc/14.2.0.lua" <<EOF
-- test cluster: compiler module (no-op but for the hierarchy)
whatis("GCC 14.2.0 (namdrunner test cluster)")
setenv("NR_GCC_LOADED", "14.2.0")
prepend_path("MODULEPATH", "$comp")
family("compiler")
EOF
    cat >"$comp/openmpi/5.0.6.lua" <<EOF
whatis("OpenMPI 5.0.6 (namdrunner test cluster shim)")
prepend_path("PATH", "$mpibin")
prepend_path("MODULEPATH", "$mpi")
family("mpi")
EOF
    mkdir -p "$m/cuda"
    cat >"$m/cuda/12.1.1.lua" <<EOF
whatis("CUDA 12.1.1 (namdrunner test cluster: no GPUs, a name only)")
setenv("NR_CUDA_LOADED", "12.1.1")
EOF
    cat >"$mpi/namd/3.0.1_cpu.lua" <<EOF
whatis("NAMD 3.0.1 CPU -- namdrunner TEST STAND-IN, not NAMD")
prepend_path("PATH", "$bin")
EOF
    cat >"$m/namd/2.14.lua" <<EOF
whatis("NAMD 2.14 -- namdrunner TEST STAND-IN, not NAMD")
prepend_path("PATH", "$bin")
setenv("NAMD_STANDIN_VERSION", "2.14")
EOF
    # A Python with numpy as sites offer one (Alpine: `module load anaconda`): the analysis jobs run it.
    local py="$STATE/opt/anaconda"
    if ! "$py/bin/python3" -c 'import numpy' 2>/dev/null; then
        rm -rf "$py"
        /usr/bin/python3 -m venv "$py"
        "$py/bin/pip" install -q --disable-pip-version-check numpy
    fi
    mkdir -p "$m/anaconda"
    cat >"$m/anaconda/2024.10.lua" <<EOF
whatis("A Python with numpy (namdrunner test cluster, as Alpine's anaconda module)")
prepend_path("PATH", "$py/bin")
EOF
    chmod -R a+rX "$STATE/modulefiles" "$STATE/modulefiles-hier" "$STATE/opt"
}

start_sshd() {
    if ! pid_alive "$STATE/run/sshd.pid" sshd_config; then
        "$STATE/bin/$PAM_PW_SERVICE" -f "$STATE/ssh/sshd_config" -E "$STATE/log/sshd.log"
    fi
    if ! pid_alive "$STATE/run/sshd_2fa.pid" sshd_2fa_config; then
        "$STATE/bin/$PAM_SERVICE" -f "$STATE/ssh/sshd_2fa_config" -E "$STATE/log/sshd_2fa.log"
    fi
    if ! pid_alive "$STATE/run/sshd_keycode.pid" sshd_keycode_config; then
        "$STATE/bin/$PAM_CODE_SERVICE" -f "$STATE/ssh/sshd_keycode_config" -E "$STATE/log/sshd_keycode.log"
    fi
    if ! pid_alive "$STATE/run/sshd_duo.pid" sshd_duo_config; then
        "$STATE/bin/$PAM_DUO_SERVICE" -f "$STATE/ssh/sshd_duo_config" -E "$STATE/log/sshd_duo.log"
    fi
    if ! pid_alive "$STATE/run/sshd_duoauto.pid" sshd_duoauto_config; then
        "$STATE/bin/$PAM_DUOAUTO_SERVICE" -f "$STATE/ssh/sshd_duoauto_config" -E "$STATE/log/sshd_duoauto.log"
    fi
    wait_for 20 sshd port_open "$SSH_PORT"
    wait_for 20 sshd-2fa port_open "$SSH_2FA_PORT"
    wait_for 20 sshd-keycode port_open "$SSH_KEYCODE_PORT"
    wait_for 20 sshd-duo port_open "$SSH_DUO_PORT"
    wait_for 20 sshd-duoauto port_open "$SSH_DUOAUTO_PORT"
}

setup_site_ns() { # the namespace and veth of the jump host + login node (made once; removed by down)
    if ! ip netns list 2>/dev/null | grep -qw "$SITE_NS"; then
        ip netns add "$SITE_NS" || die "cannot create network namespace $SITE_NS (needs root and CAP_NET_ADMIN)"
    fi
    if ! ip link show "$SITE_VETH" >/dev/null 2>&1; then
        ip link add "$SITE_VETH" type veth peer name nr-site1
        ip link set nr-site1 netns "$SITE_NS"
        ip addr add "$SITE_HOST_ADDR/30" dev "$SITE_VETH"
        ip link set "$SITE_VETH" up
        ip netns exec "$SITE_NS" ip addr add "$JUMP_ADDR/30" dev nr-site1
        ip netns exec "$SITE_NS" ip link set nr-site1 up
        ip netns exec "$SITE_NS" ip link set lo up
    fi
}

start_site() {
    setup_site_ns
    if ! pid_alive "$STATE/run/sshd_jump.pid" sshd_jump_config; then
        ip netns exec "$SITE_NS" "$STATE/bin/$PAM_SERVICE" -f "$STATE/ssh/sshd_jump_config" -E "$STATE/log/sshd_jump.log"
    fi
    if ! pid_alive "$STATE/run/sshd_login.pid" sshd_login_config; then
        ip netns exec "$SITE_NS" /usr/sbin/sshd -f "$STATE/ssh/sshd_login_config" -E "$STATE/log/sshd_login.log"
    fi
    wait_for 20 "jump host" bash -c "(exec 3<>/dev/tcp/$JUMP_ADDR/$JUMP_PORT) 2>/dev/null"
}

smoke_test() {
    local out
    out=$(ssh -q -i "$STATE/ssh/id_ed25519" -p "$SSH_PORT" -o BatchMode=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        "$TEST_USER@127.0.0.1" 'bash -lc "module load gcc/14.2.0 openmpi/5.0.6 namd/3.0.1_cpu '"$SLURM_MODULE"' && command -v namd3 && sinfo -h -o %P"') \
        || die "ssh smoke test failed; see $STATE/log/sshd.log"
    log "smoke test: $(echo "$out" | tr '\n' ' ')"
}

cmd_up() {
    need_root
    install_packages
    mkdir -p "$STATE/run" "$STATE/log"
    setup_user
    setup_ssh
    setup_modules
    write_slurm_conf
    setup_munge
    setup_mariadb
    start_slurm
    start_sshd
    start_site
    smoke_test
    log "up: ssh 127.0.0.1:$SSH_PORT (2FA :$SSH_2FA_PORT), slurmctld :$SLURMCTLD_PORT; state in $STATE"
}

stop_pidfile() { # name pidfile command-line-word
    local pid
    if [ -f "$2" ]; then
        pid=$(cat "$2" 2>/dev/null || true)
        if [ -n "$pid" ] && pid_alive "$2" "$3"; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -9 "$pid" 2>/dev/null || true
            log "stopped $1"
        fi
        rm -f "$2"
    fi
}

our_step_pids() { # slurmstepd processes of THIS cluster: their environment names our SLURM_CONF
    local p comm
    for p in /proc/[0-9]*; do
        comm=$(cat "$p/comm" 2>/dev/null) || continue
        [ "$comm" = slurmstepd ] || continue
        if tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qxF "SLURM_CONF=$SLURM_CONF"; then
            echo "${p#/proc/}"
        fi
    done
}

user_is_ours() { # the test account was made by this script: its home is inside the state dir
    local home
    home=$(getent passwd "$TEST_USER" | cut -d: -f6) || return 1
    case "$home" in "$STATE"/*) return 0 ;; *) return 1 ;; esac
}

cmd_down_dry_run() { # what 'down' would stop, one "pid what" line each
    local triple name file word pid
    for triple in $DAEMONS; do
        IFS=: read -r name file word <<<"$triple"
        if pid_alive "$STATE/run/$file.pid" "$word"; then echo "$(cat "$STATE/run/$file.pid") $name"; fi
    done
    for pid in $(our_step_pids); do echo "$pid slurmstepd"; done
    if user_is_ours; then
        for pid in $(pgrep -u "$TEST_USER" 2>/dev/null || true); do echo "$pid process of $TEST_USER"; done
    fi
}

cmd_down() {
    need_root
    if [ "${1:-}" = "--dry-run" ]; then cmd_down_dry_run; return 0; fi
    # Jobs first, so slurmstepd and the stand-in are gone with the daemons.
    if pid_alive "$STATE/run/slurmctld.pid" slurmctld; then
        scancel --user="$TEST_USER" >/dev/null 2>&1 || true
    fi
    stop_pidfile sshd "$STATE/run/sshd.pid" sshd_config
    stop_pidfile sshd-2fa "$STATE/run/sshd_2fa.pid" sshd_2fa_config
    stop_pidfile sshd-keycode "$STATE/run/sshd_keycode.pid" sshd_keycode_config
    stop_pidfile sshd-duo "$STATE/run/sshd_duo.pid" sshd_duo_config
    stop_pidfile sshd-duoauto "$STATE/run/sshd_duoauto.pid" sshd_duoauto_config
    stop_pidfile sshd-jump "$STATE/run/sshd_jump.pid" sshd_jump_config
    stop_pidfile sshd-login "$STATE/run/sshd_login.pid" sshd_login_config
    if ip link show "$SITE_VETH" >/dev/null 2>&1; then ip link del "$SITE_VETH" 2>/dev/null || true; fi
    if ip netns list 2>/dev/null | grep -qw "$SITE_NS"; then ip netns del "$SITE_NS" 2>/dev/null || true; fi
    stop_pidfile slurmd "$STATE/run/slurmd.pid" slurmd
    stop_pidfile slurmctld "$STATE/run/slurmctld.pid" slurmctld
    stop_pidfile slurmdbd "$STATE/run/slurmdbd.pid" slurmdbd
    stop_pidfile mariadb "$STATE/run/mariadb.pid" mariadbd
    stop_pidfile munged "$STATE/run/munged.pid" munged
    # Leftovers of jobs and sessions: step daemons that carry THIS cluster's SLURM_CONF, and processes
    # of the test account when this script made it. Never a pattern over every process of the host.
    local pid
    for pid in $(our_step_pids); do kill -9 "$pid" 2>/dev/null || true; done
    if user_is_ours; then pkill -u "$TEST_USER" 2>/dev/null || true; fi
    rm -f "/etc/pam.d/$PAM_SERVICE" "/etc/pam.d/$PAM_PW_SERVICE" "/etc/pam.d/$PAM_CODE_SERVICE" \
        "/etc/pam.d/$PAM_DUO_SERVICE" "/etc/pam.d/$PAM_DUOAUTO_SERVICE" "$STATE/faults/"*
    if [ "${1:-}" = "--purge" ]; then
        if user_is_ours; then userdel -r "$TEST_USER" 2>/dev/null || userdel "$TEST_USER" 2>/dev/null || true; fi
        rm -rf "$STATE"
        log "purged $STATE"
    fi
}

DAEMONS="sshd:sshd:sshd_config sshd-2fa:sshd_2fa:sshd_2fa_config sshd-keycode:sshd_keycode:sshd_keycode_config \
sshd-duo:sshd_duo:sshd_duo_config sshd-duoauto:sshd_duoauto:sshd_duoauto_config \
sshd-jump:sshd_jump:sshd_jump_config sshd-login:sshd_login:sshd_login_config munged:munged:munged \
mariadb:mariadb:mariadbd slurmdbd:slurmdbd:slurmdbd slurmctld:slurmctld:slurmctld slurmd:slurmd:slurmd"

check_listeners() { # every socket our processes listen on, and every one of our ports, is on loopback
    local pids=() triple name file word pid bad=0 line
    for triple in $DAEMONS; do
        IFS=: read -r name file word <<<"$triple"
        if pid_alive "$STATE/run/$file.pid" "$word"; then pids+=("$(cat "$STATE/run/$file.pid")"); fi
    done
    for pid in $(our_step_pids); do pids+=("$pid"); done
    while read -r line; do
        [ -n "$line" ] || continue
        local addr
        addr=$(awk '{print $5}' <<<"$line")
        case "$addr" in 127.*|"[::1]":*|"[::ffff:127."*) continue ;; esac
        local port=${addr##*:} ours=0
        for p in "$SSH_PORT" "$SSH_2FA_PORT" "$SSH_KEYCODE_PORT" "$SSH_DUO_PORT" "$SSH_DUOAUTO_PORT" "$SLURMCTLD_PORT" "$SLURMD_PORT" "$SLURMDBD_PORT" "$MARIADB_PORT"; do
            [ "$port" = "$p" ] && ours=1
        done
        for pid in "${pids[@]}"; do
            grep -q "pid=$pid," <<<"$line" && ours=1
        done
        if [ "$ours" = 1 ]; then printf 'NOT LOOPBACK: %s\n' "$line"; bad=1; fi
    done < <(ss -Hltunp 2>/dev/null)
    # inside the site namespace: only its own loopback and the jump host's veth address
    if ip netns list 2>/dev/null | grep -qw "$SITE_NS"; then
        while read -r line; do
            [ -n "$line" ] || continue
            addr=$(awk '{print $5}' <<<"$line")
            case "$addr" in 127.*|"$JUMP_ADDR":*) ;; *) printf 'NOT CONTAINED (%s): %s\n' "$SITE_NS" "$line"; bad=1 ;; esac
        done < <(ip netns exec "$SITE_NS" ss -Hltun 2>/dev/null)
    fi
    if [ "$bad" = 0 ]; then echo "listeners  all on loopback (the jump host inside namespace $SITE_NS)"; fi
    return $bad
}

cmd_status() {
    local all=0 name pidfile
    for triple in $DAEMONS; do
        IFS=: read -r name file word <<<"$triple"
        pidfile="$STATE/run/$file.pid"
        if pid_alive "$pidfile" "$word"; then
            printf '%-10s running (pid %s)\n' "$name" "$(cat "$pidfile")"
        elif [ "$name" = munged ] && munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
            printf '%-10s running (not ours)\n' "$name"
        else
            printf '%-10s stopped\n' "$name"; all=1
        fi
    done
    check_listeners || all=1
    return $all
}

cmd_env() {
    cat <<EOF
export NR_CLUSTER_DIR=$STATE
export NR_TEST_HOST=127.0.0.1
export NR_TEST_PORT=$SSH_PORT
export NR_TEST_2FA_PORT=$SSH_2FA_PORT
export NR_TEST_KEYCODE_PORT=$SSH_KEYCODE_PORT
export NR_TEST_DUO_PORT=$SSH_DUO_PORT
export NR_TEST_DUOAUTO_PORT=$SSH_DUOAUTO_PORT
export NR_TEST_DUO_PASSCODE=$DUO_PASSCODE
export NR_TEST_SLURM_MODULE=$SLURM_MODULE
export NR_TEST_JUMP_HOST=$JUMP_ADDR
export NR_TEST_JUMP_PORT=$JUMP_PORT
export NR_TEST_LOGIN_PORT=$LOGIN_PORT
export NR_TEST_USER=$TEST_USER
export NR_TEST_KEY=$STATE/ssh/id_ed25519
export NR_TEST_PASSWORD=$(cat "$STATE/secret/password" 2>/dev/null || echo unset-run-up-first)
export NR_TEST_TOTP_SECRET=$TOTP_SECRET
export NR_TEST_PROJECTS=$STATE/remote/projects/$TEST_USER
export NR_TEST_SCRATCH=$STATE/remote/scratch/$TEST_USER
export NR_TEST_MODULEPATH=$STATE/modulefiles
export SLURM_CONF=$SLURM_CONF
EOF
}

cmd_fault() { # fault sbatch hang|socket-timeout|late SECONDS|none: the next sbatch misbehaves once
    [ "${1:-}" = sbatch ] || die "usage: fault sbatch hang|socket-timeout|late SECONDS|none"
    case "${2:-}" in
        hang|socket-timeout) printf '%s\n' "$2" >"$STATE/faults/sbatch"; chown "$TEST_USER:" "$STATE/faults/sbatch" ;;
        late) [[ "${3:-}" =~ ^[0-9]+$ ]] || die "usage: fault sbatch late SECONDS"
            printf 'late %s\n' "$3" >"$STATE/faults/sbatch"; chown "$TEST_USER:" "$STATE/faults/sbatch" ;;
        none) rm -f "$STATE/faults/sbatch" ;;
        *) die "usage: fault sbatch hang|socket-timeout|late SECONDS|none" ;;
    esac
}

cmd_duo() { # duo approve|deny|slow SECONDS | never: what the phone (or the service) does next
    case "${1:-}" in
        approve|deny|slow) [[ "${2:-}" =~ ^[0-9]+$ ]] || die "usage: duo approve|deny|slow SECONDS | never"
            echo "$1 $2" >"$STATE/duo/control" ;;
        never) echo never >"$STATE/duo/control" ;;
        *) die "usage: duo approve|deny|slow SECONDS | never" ;;
    esac
}

cmd_accounting() { # accounting on|off: off stops slurmdbd, so sacct fails as when a site has none
    need_root
    case "${1:-}" in
        off) stop_pidfile slurmdbd "$STATE/run/slurmdbd.pid" slurmdbd ;;
        on)
            if ! pid_alive "$STATE/run/slurmdbd.pid" slurmdbd; then LD_PRELOAD="$SHIM" slurmdbd; fi
            wait_for 60 slurmdbd port_open "$SLURMDBD_PORT"
            wait_for 30 "slurmdbd answers" sacctmgr -n show cluster ;;
        *) die "usage: accounting on|off" ;;
    esac
}

cmd_controller() { # controller pause|resume|reset FIRST_JOB_ID: what a site's controller does to jobs
    need_root
    local pidfile="$STATE/run/slurmctld.pid"
    case "${1:-}" in
        pause) pid_alive "$pidfile" slurmctld || die "slurmctld is not running"; kill -STOP "$(cat "$pidfile")" ;;
        resume) pid_alive "$pidfile" slurmctld || die "slurmctld is not running"; kill -CONT "$(cat "$pidfile")" ;;
        reset)
            # A state reset (a site rebuild, a failover without state): every job the controller knew
            # is gone, and ids are handed out again from FIRST_JOB_ID - accounting keeps the old records.
            [[ "${2:-}" =~ ^[0-9]+$ ]] || die "usage: controller reset FIRST_JOB_ID"
            stop_pidfile slurmctld "$pidfile" slurmctld
            rm -rf "$STATE/slurm/state" && mkdir -p "$STATE/slurm/state"
            if grep -q '^FirstJobId=' "$SLURM_CONF"; then
                sed -i "s/^FirstJobId=.*/FirstJobId=$2/" "$SLURM_CONF"
            else
                echo "FirstJobId=$2" >>"$SLURM_CONF"
            fi
            LD_PRELOAD="$SHIM" slurmctld -c -f "$SLURM_CONF"
            wait_for 60 slurmctld scontrol ping
            # the node still runs what the old controller started: it reports those jobs, and the
            # new controller, which knows none of them, has them killed
            wait_for 60 "node $NODE_NAME to register" bash -c \
                "sinfo -h -N -n $NODE_NAME -o '%T' | grep -Eqv 'unknown|down|not_responding|^$'" ;;
        *) die "usage: controller pause|resume|reset FIRST_JOB_ID" ;;
    esac
}

cmd_requeue() { # requeue on|off: whether Slurm requeues a batch job after a node failure (JobRequeue)
    need_root
    case "${1:-}" in
        on) value=1 ;;
        off) value=0 ;;
        *) die "usage: requeue on|off" ;;
    esac
    if grep -q '^JobRequeue=' "$SLURM_CONF"; then
        sed -i "s/^JobRequeue=.*/JobRequeue=$value/" "$SLURM_CONF"
    else
        echo "JobRequeue=$value" >>"$SLURM_CONF"
    fi
    scontrol reconfigure >/dev/null
}

cmd_node() { # node down|resume: the node fails under its jobs (NODE_FAIL), or comes back
    need_root
    case "${1:-}" in
        down) scontrol update nodename="$NODE_NAME" state=down reason="namdrunner test: node failure" ;;
        resume)
            # ReturnToService=2 may have brought it back already (then "resume" is refused)
            scontrol update nodename="$NODE_NAME" state=resume 2>/dev/null || true
            wait_for 60 "node $NODE_NAME to come back" bash -c \
                "sinfo -h -N -n $NODE_NAME -o '%T' | grep -Eqv 'unknown|down|drain|not_responding|^$'" ;;
        *) die "usage: node down|resume" ;;
    esac
}

cmd_release() { # release JOBID: an admin lets a requeued job start at once (no two-minute BeginTime hold)
    need_root
    [[ "${1:-}" =~ ^[0-9]+$ ]] || die "usage: release JOBID"
    # The node first finishes killing the job's old run. Slurm's hold is the credential lifetime
    # (cred_expire, 120 s): until it passes, a node may still refuse the revoked credential of the old
    # run ("Job credential revoked") and Slurm ends the job FAILED at once - as it does at a site when an
    # admin releases a requeued job early.
    wait_for 90 "the old run of job $1 to be cleaned up" bash -c \
        "! pgrep -f 'slurmstepd: \\[$1\\.' && ! scontrol show node $NODE_NAME | grep -q 'State=[A-Z+]*COMPLETING'"
    scontrol update jobid="$1" starttime=now
}

cmd_reservation() { # reservation maint IN_MINUTES DURATION_MINUTES | clear: a site's maintenance window
    need_root
    case "${1:-}" in
        maint)
            [[ "${2:-}" =~ ^[0-9]+$ && "${3:-}" =~ ^[0-9]+$ ]] || die "usage: reservation maint IN_MINUTES DURATION_MINUTES"
            scontrol delete reservationname=nr_maint >/dev/null 2>&1 || true
            scontrol create reservationname=nr_maint starttime="now+${2}minutes" duration="$3" nodes=ALL \
                users=root flags=maint,ignore_jobs >/dev/null ;;
        clear) scontrol delete reservationname=nr_maint >/dev/null 2>&1 || true ;;
        *) die "usage: reservation maint IN_MINUTES DURATION_MINUTES | reservation clear" ;;
    esac
}

cmd_min_job_age() { # min-job-age SECONDS: how long finished jobs stay visible in squeue
    need_root
    [[ "${1:-}" =~ ^[0-9]+$ ]] || die "usage: min-job-age SECONDS"
    sed -i "s/^MinJobAge=.*/MinJobAge=$1/" "$SLURM_CONF"
    scontrol reconfigure >/dev/null
}

case "${1:-}" in
    fault) shift; cmd_fault "$@" ;;
    duo) shift; cmd_duo "$@" ;;
    accounting) shift; cmd_accounting "$@" ;;
    min-job-age) shift; cmd_min_job_age "$@" ;;
    controller) shift; cmd_controller "$@" ;;
    requeue) shift; cmd_requeue "$@" ;;
    node) shift; cmd_node "$@" ;;
    reservation) shift; cmd_reservation "$@" ;;
    release) shift; cmd_release "$@" ;;
    up) cmd_up ;;
    down) shift; cmd_down "${1:-}" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *) echo "usage: $0 up|down [--purge|--dry-run]|status|env|fault sbatch MODE|accounting on|off|min-job-age N|controller pause|resume|reset N|requeue on|off|node down|resume|release JOBID|reservation maint IN DURATION|clear" >&2
       exit 2 ;;
esac
