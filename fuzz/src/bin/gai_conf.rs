//! `Policy::from_gai_conf` on any bytes (as lossy UTF-8).

use std::process::ExitCode;

use rfc3484_sort::Policy;

fn main() -> ExitCode {
    let seeds: &[&[u8]] = &[
        b"label ::1/128 0\nlabel ::/0 1\nprecedence ::1/128 50\nprecedence ::/0 40\n",
        b"precedence ::ffff:0:0/96 100\n",
        b"scopev4 ::ffff:169.254.0.0/112 2\nscopev4 ::ffff:127.0.0.0/104 2\nscopev4 ::/0 14\n",
        b"# comment\nreload yes\nlabel 2002::/16 2\nlabel 2001:0::/32 5\n",
        b"label fc00::/7 13\nprecedence fec0::/10 1\n",
    ];
    happy_connect_fuzz::main("gai_conf", seeds, 512, |data| {
        let text = String::from_utf8_lossy(data);
        let _ = Policy::from_gai_conf(&text);
    })
}
