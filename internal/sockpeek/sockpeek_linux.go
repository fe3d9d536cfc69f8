package sockpeek

import "golang.org/x/sys/unix"

// hungUp polls fd for a peer hang-up without waiting: 1 hung up (or the socket failed),
// 0 still connected, -1 unknown. POLLRDHUP is reported even when unread data is pending,
// so a client that pipelined bytes before leaving is seen leaving.
func hungUp(fd uintptr) int8 {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
	for {
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1
		}
		if n > 0 && fds[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
			return 1
		}
		return 0
	}
}

// supported: Linux reports a peer hang-up through poll.
const supported = true
