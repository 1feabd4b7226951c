//! Connect by name from blocking code: the same connector, driven on a
//! small runtime of its own, returning a `std::net::TcpStream`.

use std::net::TcpStream;

use crate::{ConnectError, ConnectErrorKind, ConnectReport, Connector};

/// Connects to `host` on `port` with the default [`Connector`], blocking
/// the calling thread.
///
/// # Errors
///
/// A [`ConnectError`] with the report of every query and attempt.
pub fn connect(host: &str, port: u16) -> Result<(TcpStream, ConnectReport), ConnectError> {
    connect_with(&Connector::new(), host, port)
}

/// [`connect`] with a configured [`Connector`].
///
/// It may be called from inside an async runtime too (it then runs on a
/// thread of its own rather than blocking the runtime's thread in place),
/// though async code should await [`Connector::connect`] instead.
///
/// # Errors
///
/// A [`ConnectError`] with the report of every query and attempt.
pub fn connect_with(
    connector: &Connector,
    host: &str,
    port: u16,
) -> Result<(TcpStream, ConnectReport), ConnectError> {
    let setup_error = |what: &str, err: std::io::Error| {
        let report = ConnectReport {
            host: host.to_owned(),
            port,
            ..ConnectReport::default()
        };
        ConnectError::new(
            ConnectErrorKind::Setup,
            Some(format!("{what}: {err}")),
            report,
        )
    };
    // Each call runs on a runtime of its own, which the system resolver's
    // pooled connections must not outlive.
    let connector = connector.for_new_runtime();
    let connector = &connector;
    let run = || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| setup_error("cannot start a runtime", err))?;
        runtime.block_on(async {
            let (stream, report) = connector.connect(host, port).await?;
            let stream = into_std(stream)
                .map_err(|err| setup_error("cannot hand the stream to blocking code", err))?;
            Ok((stream, report))
        })
    };
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| {
            s.spawn(run)
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    } else {
        run()
    }
}

fn into_std(stream: tokio::net::TcpStream) -> std::io::Result<TcpStream> {
    let stream = stream.into_std()?;
    // A blocking caller expects blocking reads and writes.
    stream.set_nonblocking(false)?;
    Ok(stream)
}
