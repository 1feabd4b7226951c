//! The socket of one attempt: created non-blocking, options applied, then
//! connected on tokio's reactor.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, TcpKeepalive, Type};
use tokio::net::{TcpSocket, TcpStream};

/// Socket options applied to every attempt.
#[derive(Debug, Clone, Default)]
pub(crate) struct SocketOptions {
    pub(crate) local_v4: Option<IpAddr>,
    pub(crate) local_v6: Option<IpAddr>,
    pub(crate) device: Option<String>,
    pub(crate) nodelay: bool,
    pub(crate) keepalive: Option<Duration>,
}

/// One non-blocking TCP connect with the options applied first.
pub(crate) async fn connect(addr: SocketAddr, opts: &SocketOptions) -> std::io::Result<TcpStream> {
    open(addr, opts)?.connect(addr).await
}

/// A non-blocking socket for `addr` with the options applied, ready to
/// connect.
pub(crate) fn open(addr: SocketAddr, opts: &SocketOptions) -> std::io::Result<TcpSocket> {
    // Created non-blocking where the OS allows it in the same call.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )?;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let socket = {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_nonblocking(true)?;
        socket
    };
    if opts.nodelay {
        socket.set_tcp_nodelay(true)?;
    }
    if let Some(idle) = opts.keepalive {
        socket.set_tcp_keepalive(&TcpKeepalive::new().with_time(idle))?;
    }
    if let Some(device) = &opts.device {
        bind_device(&socket, device)?;
    }
    let local = match addr {
        SocketAddr::V4(_) => opts.local_v4,
        SocketAddr::V6(_) => opts.local_v6,
    };
    if let Some(local) = local {
        socket.bind(&SocketAddr::new(local, 0).into())?;
    }
    let std_stream: std::net::TcpStream = socket.into();
    Ok(TcpSocket::from_std_stream(std_stream))
}

/// The local address a connection made with `opts` to `candidate` will
/// have, when it can be known without asking the socket: the address the
/// socket is bound to; else, when no device binding can change the route,
/// the source the kernel's routing chose for the destination when the host
/// view looked it up (the choice a connect makes). `None`: ask the socket
/// ([`local_address`]).
pub(crate) fn known_local(
    candidate: &crate::race::Candidate,
    opts: &SocketOptions,
) -> Option<IpAddr> {
    let bound = match candidate.dest.addr {
        IpAddr::V4(_) => opts.local_v4,
        IpAddr::V6(_) => opts.local_v6,
    };
    if let Some(ip) = bound.filter(|ip| !ip.is_unspecified()) {
        return Some(ip);
    }
    if opts.device.is_some() {
        return None;
    }
    candidate.dest.source.map(|s| s.addr)
}

/// The connection's local address for the report: `known` (see
/// [`known_local`]), else the socket's own (`getsockname`).
pub(crate) fn local_address(stream: &TcpStream, known: Option<IpAddr>) -> Option<IpAddr> {
    known.or_else(|| stream.local_addr().ok().map(|a| a.ip()))
}

/// Binds the socket to an interface: `SO_BINDTODEVICE` on Linux.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn bind_device(socket: &Socket, device: &str) -> std::io::Result<()> {
    socket.bind_device(Some(device.as_bytes()))
}

/// Elsewhere there is no `SO_BINDTODEVICE`: say so rather than ignore it.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn bind_device(_socket: &Socket, _device: &str) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "binding to a device needs SO_BINDTODEVICE (Linux)",
    ))
}
