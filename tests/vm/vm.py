#!/usr/bin/env python3
"""Run one command in a throwaway QEMU guest whose root is the host root.

usage: vm.py --out DIR [options] -- CMD [ARG...]

The guest mounts the host root read-only over 9p with a tmpfs overlay on top,
so absolute host paths (the build tree, python3, udev, ...) work unchanged in
the guest and nothing the guest writes reaches the host, except through DIR,
which the guest sees at /mnt/out. CMD runs as root in the guest, in the
current directory, with DEVNS_OUT, DEVNS_SRC, DEVNS_BUILD (and every DEVNS_*
variable of the caller) set. The guest's serial console is copied to stdout
and to DIR/console.log. The exit status is the command's.

With --root-disk IMG the guest is instead a whole system booted from IMG
with systemd as PID 1 (tests/vm/mksysroot.sh builds it); its test runner
mounts the host root read-only at /mnt/host and binds the current, source
and build directories from there at their own paths, so CMD runs the same
way, against the programs installed in IMG.

While the guest runs, vm.py serves the host control channel (a virtio-serial
port named org.devns.hostctl, used by tests/vm/hostctl in the guest): it takes
screendumps and types keys through QMP.

Exit status: the guest command's; 1 with a message on timeout, on a guest
that died without reporting a status, on a QEMU failure, and when QEMU or a
kernel is not available: the vm suite is never skipped silently.
"""

import argparse
import ctypes
import json
import os
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC_DIR = os.path.dirname(os.path.dirname(HERE))
GUEST_OUT = '/mnt/out'
PORT_NAME = 'org.devns.hostctl'
MARKER = '.devns-vm'
GUEST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
EXIT_MISSING = 1

# HMP spellings that are not QMP qcodes.
KEY_ALIASES = {
    'enter': 'ret', 'return': 'ret', 'space': 'spc', 'escape': 'esc',
    'control': 'ctrl', 'control_r': 'ctrl_r', 'del': 'delete',
    'pageup': 'pgup', 'pagedown': 'pgdn', 'page_up': 'pgup',
    'page_down': 'pgdn', 'ins': 'insert',
}


def log(msg):
    sys.stderr.write('vm.py: %s\n' % msg)
    sys.stderr.flush()


class Failure(Exception):
    pass


def version_key(v):
    return [int(p) if p.isdigit() else p for p in re.split(r'(\d+)', v)]


def find_kernel(version=None):
    """Newest /boot/vmlinuz-*-amd64 that has modules, or the one asked for."""
    if version:
        cands = [version]
    else:
        cands = []
        for name in os.listdir('/boot'):
            m = re.fullmatch(r'vmlinuz-(.*-amd64)', name)
            if m:
                cands.append(m.group(1))
        cands.sort(key=version_key, reverse=True)
    for v in cands:
        image = '/boot/vmlinuz-' + v
        if os.path.isfile(image) and os.path.isdir('/lib/modules/' + v):
            return v, image
    return None, None


def ensure_initramfs(cache_dir, kver):
    """Build the initramfs for kver unless an up-to-date one is cached."""
    path = os.path.join(cache_dir, 'initramfs-%s.cpio.gz' % kver)
    inputs = [os.path.join(HERE, 'mkinitramfs.sh'),
              os.path.join(HERE, 'guest-init.sh'),
              '/lib/modules/%s/modules.dep' % kver]
    newest = max(os.stat(p).st_mtime for p in inputs if os.path.exists(p))
    if os.path.exists(path) and os.stat(path).st_mtime >= newest:
        return path
    log('building %s' % path)
    os.makedirs(cache_dir, exist_ok=True)
    r = subprocess.run(['sh', os.path.join(HERE, 'mkinitramfs.sh'), path, kver],
                       stdout=sys.stderr)
    if r.returncode != 0 or not os.path.exists(path):
        raise Failure('mkinitramfs.sh failed (status %d)' % r.returncode)
    return path


def prepare_out(out):
    """Create DIR; empty it only if an earlier vm.py run made it."""
    if os.path.isdir(out) and os.path.exists(os.path.join(out, MARKER)):
        for name in os.listdir(out):
            p = os.path.join(out, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)
    os.makedirs(out, exist_ok=True)
    for name in ('.exit-status', '.exit-status.tmp', '.cmd', '.binds', 'console.log'):
        try:
            os.unlink(os.path.join(out, name))
        except FileNotFoundError:
            pass
    with open(os.path.join(out, MARKER), 'w') as f:
        f.write('made by tests/vm/vm.py; emptied on its next run\n')


def write_cmd(out, cmd, env):
    lines = ['# run by the guest init (tests/vm/guest-init.sh)']
    for k in sorted(env):
        lines.append('export %s=%s' % (k, shlex.quote(env[k])))
    lines.append('cd %s || exit 125' % shlex.quote(os.getcwd()))
    lines.append('exec ' + ' '.join(shlex.quote(a) for a in cmd))
    with open(os.path.join(out, '.cmd'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


class QMP:
    """Minimal QMP client on an accepted socket; one command at a time."""

    def __init__(self, sock, timeout=60):
        self.sock = sock
        self.timeout = timeout
        self.buf = b''
        self.lock = threading.Lock()
        self.next_id = 0
        self.sock.settimeout(timeout)
        greeting = self._read()
        if 'QMP' not in greeting:
            raise Failure('unexpected QMP greeting: %r' % greeting)
        self.execute('qmp_capabilities')

    def _read(self):
        while b'\n' not in self.buf:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise Failure('QMP: no answer within %d s' % self.timeout)
            if not data:
                raise Failure('QMP: QEMU closed the monitor')
            self.buf += data
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def execute(self, cmd, **args):
        with self.lock:
            self.next_id += 1
            req = {'execute': cmd, 'id': self.next_id}
            if args:
                req['arguments'] = args
            self.sock.sendall(json.dumps(req).encode() + b'\n')
            while True:
                msg = self._read()
                if msg.get('id') != self.next_id:
                    continue  # events and stale answers
                if 'error' in msg:
                    raise Failure('%s: %s' % (cmd, msg['error'].get('desc', msg['error'])))
                return msg.get('return')


def png_size(path):
    with open(path, 'rb') as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != b'\x89PNG\r\n\x1a\n':
        raise Failure('screendump did not produce a PNG')
    return struct.unpack('>II', head[16:24])


def parse_keys(spec):
    keys = []
    for name in spec.split('-'):
        if not name:
            raise Failure('bad key combination %r' % spec)
        if re.fullmatch(r'0x[0-9a-fA-F]+', name):
            keys.append({'type': 'number', 'data': int(name, 16)})
        else:
            name = name.lower()
            keys.append({'type': 'qcode', 'data': KEY_ALIASES.get(name, name)})
    return keys


class HostCtl:
    """Serves requests from the guest's hostctl over the virtio-serial port."""

    def __init__(self, sock, qmp, out):
        self.sock = sock
        self.qmp = qmp
        self.out = out

    def serve(self):
        buf = b''
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                if line.strip():
                    self.handle(line)

    def handle(self, line):
        rid = None
        try:
            req = json.loads(line)
            rid = req.get('id')
            argv = [str(a) for a in req.get('argv', [])]
            if not argv:
                raise Failure('empty request')
            fn = getattr(self, 'do_' + argv[0].replace('-', '_'), None)
            if fn is None:
                raise Failure('unknown request %r (ping, screendump, sendkey)' % argv[0])
            reply = {'id': rid, 'ok': True, 'message': fn(argv[1:]) or ''}
        except Failure as e:
            reply = {'id': rid, 'ok': False, 'message': str(e)}
        except (ValueError, SystemExit) as e:
            reply = {'id': rid, 'ok': False, 'message': 'bad request: %s' % e}
        except Exception as e:  # keep serving whatever one request did
            reply = {'id': rid, 'ok': False, 'message': '%s: %s' % (type(e).__name__, e)}
        try:
            self.sock.sendall(json.dumps(reply).encode() + b'\n')
        except OSError:
            pass

    @staticmethod
    def parser(prog):
        p = argparse.ArgumentParser(prog=prog, add_help=False)
        p.error = lambda msg: (_ for _ in ()).throw(Failure('%s: %s' % (prog, msg)))
        return p

    def do_ping(self, args):
        return 'pong'

    def do_screendump(self, args):
        p = self.parser('screendump')
        p.add_argument('file')
        p.add_argument('--device', help='QOM id of the display device')
        p.add_argument('--head', type=int)
        a = p.parse_args(args)
        rel = os.path.normpath(a.file)
        if os.path.isabs(rel) or rel.startswith('..'):
            raise Failure('screendump: %s is not inside the out directory' % a.file)
        dest = os.path.join(self.out, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = os.path.join(os.path.dirname(dest), '.%s.tmp' % os.path.basename(dest))
        qargs = {'filename': tmp, 'format': 'png'}
        if a.device:
            qargs['device'] = a.device
        if a.head is not None:
            if not a.device:
                raise Failure('screendump: --head needs --device (the display device id)')
            qargs['head'] = a.head
        self.qmp.execute('screendump', **qargs)
        w, h = png_size(tmp)
        # Publish the file only once complete, so the guest never sees half.
        os.rename(tmp, dest)
        return '%s %dx%d' % (rel, w, h)

    def do_sendkey(self, args):
        p = self.parser('sendkey')
        p.add_argument('keys', nargs='+')
        p.add_argument('--hold-time', type=int, default=100, help='ms')
        p.add_argument('--device', help='send to the input device bound to this display')
        p.add_argument('--head', type=int)
        a = p.parse_args(args)
        for spec in a.keys:
            keys = parse_keys(spec)
            if a.device is None and a.head is None:
                # QEMU queues press and release (after hold-time) in order.
                self.qmp.execute('send-key', keys=keys, **{'hold-time': a.hold_time})
                continue
            kw = {}
            if a.device:
                kw['device'] = a.device
            if a.head is not None:
                kw['head'] = a.head
            ev = lambda down: [{'type': 'key', 'data': {'down': down, 'key': k}}
                               for k in (keys if down else reversed(keys))]
            self.qmp.execute('input-send-event', events=ev(True), **kw)
            time.sleep(a.hold_time / 1000.0)
            self.qmp.execute('input-send-event', events=ev(False), **kw)
        return 'sent %s' % ' '.join(a.keys)


def set_pdeathsig():
    """Let the kernel kill QEMU if vm.py itself dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def accept(listener, proc, what, timeout=60):
    deadline = time.monotonic() + timeout
    listener.settimeout(0.2)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Failure('QEMU exited with status %d before connecting %s' % (proc.returncode, what))
        try:
            conn, _ = listener.accept()
            conn.settimeout(None)
            return conn
        except socket.timeout:
            continue
    raise Failure('QEMU did not connect %s within %d s' % (what, timeout))


def copy_console(pipe, logf):
    out = sys.stdout.buffer
    while True:
        data = os.read(pipe, 65536)
        if not data:
            return
        # The guest tty turns \n into \r\n; test logs want plain lines.
        data = data.replace(b'\r', b'')
        out.write(data)
        out.flush()
        logf.write(data)
        logf.flush()


def split_qemu_args(argv):
    """Allow `--qemu-arg -device` (argparse would take -device for an option)."""
    res = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == '--':
            res.extend(argv[i:])
            break
        if a == '--qemu-arg' and i + 1 < len(argv):
            res.append('--qemu-arg=' + argv[i + 1])
            i += 2
            continue
        res.append(a)
        i += 1
    return res


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog='vm.py', description=__doc__.split('\n\n')[0],
        epilog='Extra devices: --qemu-arg -device --qemu-arg virtio-gpu-pci,id=video1 '
               '(give displays an id to screendump them with hostctl --device).')
    p.add_argument('--out', required=True, help='output directory, /mnt/out in the guest')
    p.add_argument('--timeout', type=float, default=900, help='seconds (default 900)')
    p.add_argument('--memory', type=int, default=1024, help='MiB (default 1024)')
    p.add_argument('--smp', type=int, default=2)
    p.add_argument('--vga', choices=('std', 'virtio', 'none'), default='std')
    p.add_argument('--accel', default='tcg', help='QEMU accelerator (default tcg)')
    p.add_argument('--qemu-arg', action='append', default=[], metavar='ARG',
                   help='extra QEMU argument (repeatable)')
    p.add_argument('--append', action='append', default=[], metavar='PARAM',
                   help='extra kernel command line parameter (repeatable)')
    p.add_argument('--env', action='append', default=[], metavar='KEY=VALUE',
                   help='extra environment variable for the command (repeatable)')
    p.add_argument('--initramfs', help='use this initramfs instead of the cached one')
    p.add_argument('--root-disk', metavar='IMG',
                   help='boot a whole system from this ext4 image instead of the host root '
                        '(Debian\'s initrd, systemd as PID 1; see tests/vm/mksysroot.sh), '
                        'whose test runner mounts the host root at /mnt/host')
    p.add_argument('--bind', action='append', default=[], metavar='DIR',
                   help='with --root-disk: a further host directory the guest binds '
                        'at its own path (repeatable)')
    p.add_argument('--root-label', default='devns-sysroot',
                   help='file system label of --root-disk (default devns-sysroot)')
    p.add_argument('--cache-dir', help='where the initramfs is built and kept '
                   '(default: BUILD/tests/vm, else the parent of --out)')
    p.add_argument('--kernel-version', help='default: newest /boot/vmlinuz-*-amd64 with modules')
    p.add_argument('--build-dir', default=os.environ.get('MESON_BUILD_ROOT'),
                   help='build directory, DEVNS_BUILD in the guest')
    p.add_argument('cmd', nargs=argparse.REMAINDER, help='-- CMD [ARG...]')
    a = p.parse_args(split_qemu_args(argv))
    if a.cmd and a.cmd[0] == '--':
        a.cmd = a.cmd[1:]
    if not a.cmd:
        p.error('no command given (-- CMD [ARG...])')
    for e in a.env:
        if '=' not in e:
            p.error('--env wants KEY=VALUE, got %r' % e)
    return a


def run(a):
    qemu = os.environ.get('QEMU', 'qemu-system-x86_64')
    if not shutil.which(qemu):
        log('%s not found; skipping' % qemu)
        return EXIT_MISSING
    kver, kernel = find_kernel(a.kernel_version)
    if not kernel:
        log('no /boot/vmlinuz-*-amd64 with /lib/modules/<version>; skipping')
        return EXIT_MISSING
    if not os.access(kernel, os.R_OK):
        log('%s is not readable; skipping' % kernel)
        return EXIT_MISSING

    out = os.path.abspath(a.out)
    build = os.path.abspath(a.build_dir) if a.build_dir else None
    if a.root_disk:
        # The system's own init; Debian's initrd finds the root by label.
        initrd = '/boot/initrd.img-' + kver
        if not os.access(initrd, os.R_OK):
            log('%s is not readable; skipping' % initrd)
            return EXIT_MISSING
    elif a.initramfs:
        initrd = os.path.abspath(a.initramfs)
    else:
        cache = a.cache_dir or (os.path.join(build, 'tests', 'vm') if build
                                else os.path.dirname(out))
        initrd = ensure_initramfs(os.path.abspath(cache), kver)

    prepare_out(out)
    env = {k: v for k, v in os.environ.items() if k.startswith('DEVNS_')}
    env.update({'PATH': GUEST_PATH, 'HOME': '/root', 'LANG': 'C.UTF-8',
                'DEVNS_OUT': GUEST_OUT, 'DEVNS_SRC': SRC_DIR, 'DEVNS_VM': '1'})
    if build:
        env['DEVNS_BUILD'] = build
    else:
        env.pop('DEVNS_BUILD', None)
    env.update(e.split('=', 1) for e in a.env)
    write_cmd(out, a.cmd, env)
    if a.root_disk:
        # The directories the command names, which the guest's runner binds
        # from the host root at the same paths.
        binds = []
        for d in [os.getcwd(), SRC_DIR, build] + [os.path.abspath(b) for b in a.bind]:
            if d and d not in binds:
                binds.append(d)
        with open(os.path.join(out, '.binds'), 'w') as f:
            f.write(''.join(d + '\n' for d in binds))

    # Sockets live in a short private directory: unix paths are limited to
    # 108 bytes and build trees can be deep.
    sockdir = tempfile.mkdtemp(prefix='devns-vm-')
    qmp_path = os.path.join(sockdir, 'qmp')
    ctl_path = os.path.join(sockdir, 'hostctl')
    listeners = []
    for path in (qmp_path, ctl_path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(1)
        listeners.append(s)

    append = ['console=ttyS0', 'panic=-1', 'loglevel=4'] + a.append
    disk = []
    if a.root_disk:
        append += ['root=LABEL=' + a.root_label, 'rw']
        disk = ['-drive', 'file=%s,if=virtio,format=raw' % os.path.abspath(a.root_disk).replace(',', ',,')]
    cmd = [qemu, '-machine', 'pc', '-accel', a.accel, '-smp', str(a.smp),
           '-m', str(a.memory), '-nodefaults', '-no-user-config',
           '-display', 'none', '-vga', a.vga, '-no-reboot',
           '-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console',
           '-kernel', kernel, '-initrd', initrd, '-append', ' '.join(append),
           # multidevs=remap: / spans several file systems, whose inode
           # numbers would otherwise collide in the guest.
           '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,'
                      'readonly=on,multidevs=remap',
           '-virtfs', 'local,path=%s,mount_tag=out,security_model=none,'
                      'multidevs=remap' % out.replace(',', ',,'),
           '-chardev', 'socket,id=qmp,path=%s' % qmp_path,
           '-mon', 'chardev=qmp,mode=control',
           '-device', 'virtio-serial-pci,id=hostctl-bus',
           '-chardev', 'socket,id=hostctl,path=%s' % ctl_path,
           '-device', 'virtserialport,bus=hostctl-bus.0,chardev=hostctl,name=%s' % PORT_NAME,
           ] + disk + a.qemu_arg

    logf = open(os.path.join(out, 'console.log'), 'wb')
    log('booting %s (%s, timeout %d s)' % (kver, a.accel, a.timeout))
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            preexec_fn=set_pdeathsig)
    console = threading.Thread(target=copy_console, args=(proc.stdout.fileno(), logf),
                               daemon=True)
    console.start()

    def on_signal(signum, frame):
        proc.kill()
        log('killed QEMU on signal %d' % signum)
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        qmp = QMP(accept(listeners[0], proc, 'the QMP socket'))
        ctl = HostCtl(accept(listeners[1], proc, 'the hostctl port'), qmp, out)
        threading.Thread(target=ctl.serve, daemon=True).start()
        try:
            proc.wait(timeout=max(0, a.timeout - (time.monotonic() - start)))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            console.join(5)
            raise Failure('timeout: the guest did not finish within %d s; killed QEMU'
                          % a.timeout)
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        raise
    finally:
        for s in listeners:
            s.close()
        shutil.rmtree(sockdir, ignore_errors=True)

    console.join(5)
    logf.close()
    elapsed = time.monotonic() - start
    status_file = os.path.join(out, '.exit-status')
    try:
        with open(status_file) as f:
            status = int(f.read().strip())
    except (OSError, ValueError):
        raise Failure('the guest stopped without reporting an exit status after %.1f s '
                      '(QEMU status %d; see the console output above)'
                      % (elapsed, proc.returncode))
    log('guest command exited with status %d after %.1f s' % (status, elapsed))
    return status


def main():
    # For the build: the kernel a guest boots, whose headers devns.ko
    # must be built against (scripts/test.sh: -Dkernel-dir).
    if sys.argv[1:] == ['--print-kernel-version']:
        kver, _ = find_kernel()
        if not kver:
            log('no /boot/vmlinuz-*-amd64 with /lib/modules/<version>')
            return 1
        print(kver)
        return 0
    a = parse_args(sys.argv[1:])
    try:
        return run(a)
    except Failure as e:
        log('FAILED: %s' % e)
        return 1


if __name__ == '__main__':
    sys.exit(main())
