// SPDX-License-Identifier: MIT
//! A fixed-size text buffer for `core::fmt` (no allocation): messages that
//! do not fit are cut at a character boundary.

use core::fmt;

pub(crate) struct FmtBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> FmtBuf<N> {
    pub(crate) const fn new() -> Self {
        FmtBuf {
            buf: [0; N],
            len: 0,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match core::str::from_utf8(&self.buf[..self.len]) {
            Ok(s) => s,
            // Only whole characters are ever copied in, so this cannot happen.
            Err(e) => core::str::from_utf8(&self.buf[..e.valid_up_to()]).unwrap_or(""),
        }
    }
}

impl<const N: usize> fmt::Write for FmtBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = N - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::FmtBuf;
    use core::fmt::Write;

    #[test]
    fn test_fmtbuf_cuts_at_char_boundary() {
        let mut b = FmtBuf::<5>::new();
        let tail = "cdé";
        write!(b, "ab{tail}").unwrap();
        assert_eq!(b.as_str(), "abcd");
        let mut b = FmtBuf::<16>::new();
        write!(b, "{:>6}|", 42).unwrap();
        assert_eq!(b.as_str(), "    42|");
    }
}
