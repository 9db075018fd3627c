// Package logfile is where the gateway's log goes when it is not standard
// error: a file that rotates itself ([File]), and the local syslog daemon
// or journald ([Syslog]). Both are plain io.Writers under a slog handler;
// both are safe for concurrent use; neither ever returns an error to the
// logger or blocks it for long, because a log that cannot be written must
// not stop logins.
//
// # The file
//
// [Open] opens the file for appending (O_APPEND: each slog record is one
// write, so lines from concurrent goroutines never mix), creating it with
// mode 0640 (owner writes, the adm group reads, as for the rest of
// /var/log). Rotation is by size, in the scheme logrotate uses by default:
// before a line would take the file past MaxSize, path.N-1 becomes path.N
// (the oldest, path.N, is replaced), ..., path becomes path.1, and a new
// path is created. A line is never split: a line longer than MaxSize gets
// a file of its own. Files beyond MaxFiles left by an earlier setting are
// left alone. There is no compression; logrotate does that if wanted.
//
// Which rotation to use, in the configuration (log.file, log.max_size,
// log.max_files):
//
//   - Built in (the default, max_size 100 MiB, max_files 5): nothing else
//     to install or configure; the log takes at most about
//     max_size × (max_files + 1).
//   - logrotate, when the system's policy is to rotate everything with
//     it: set max_size to 0 and install a logrotate rule such as the one
//     below.
//
// logrotate renames the file and creates a new one; SIGUSR1 makes the
// gateway call [File.Reopen], which closes its old file and appends to the
// new one (creating it if logrotate did not):
//
//	/var/log/gatehouse/gatehouse.log {
//	    daily
//	    rotate 14
//	    compress
//	    delaycompress
//	    create 0640 root adm
//	    postrotate
//	        systemctl kill -s USR1 gatehouse.service
//	    endscript
//	}
//
// copytruncate also works, because the file is opened with O_APPEND, but
// lines written between the copy and the truncation are lost: prefer
// create.
//
// Do not use both: two rotators renaming the same file make a muddle of
// the numbered names.
//
// A write that fails (disk full, file system gone read-only, directory
// removed) is counted ([File.Stats]) and reported on standard error — once
// when failures begin, and once when writing works again, with the number
// of lines lost. A file that cannot be reopened is tried again at most
// once a second; a rotation that fails (a rename refused) leaves the lines
// going to the current file and is tried again a minute later.
//
// # Syslog and journald
//
// [DialSyslog] connects a Unix datagram socket to the local syslog socket,
// /dev/log by default. journald serves /dev/log where systemd runs (and
// passes messages on to rsyslog when it is installed); elsewhere rsyslog
// or another daemon does. Each record is sent as the C library's syslog(3)
// sends it there, <PRI>Mmm dd hh:mm:ss TAG[PID]: MESSAGE, so both parse
// the tag (log.syslog: true, or the tag to use; "gatehouse" by default),
// the pid and the severity. The facility is daemon unless set otherwise
// (auth and authpriv suit an authentication gateway too).
//
// [Syslog.Handler] formats each record with slog's own text or JSON
// handler, leaves the time and level out of the message (the header
// carries them) and maps the level to a severity with [SeverityOf]:
// debug, info, notice (between Info and Warn), warning, err, crit (Error+4
// and above).
//
// The standard library's log/syslog was not used: it cannot be pointed at
// a socket path of our choosing and still send the local format (given an
// address, it writes the network format with a hostname, which a daemon's
// local socket input takes for the tag); its severity is chosen per call
// rather than per record; and it waits as long as the daemon makes it
// wait. [Syslog] is a hundred lines: it reconnects when the daemon
// restarts (a new socket at the same path), at most once a second, and
// when the daemon does not keep up it waits at most 250 ms once, then
// drops lines (counted, reported once) until a send goes through again.
//
// Under systemd the gateway's standard error already goes to the journal.
// Turn syslog on where the journal is not the collector, or to route by
// facility; with both on under systemd each line is in the journal twice.
package logfile
