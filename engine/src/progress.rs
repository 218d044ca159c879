//! Progress reporting and cancellation, one mechanism for every long call (merge, develop, fuse,
//! batch): the caller's callback gets `(done, total, stage)` after each step and returns
//! `ControlFlow::Break(())` to cancel, which stops the work at that step boundary with
//! [`Error::Cancelled`]. Every GPU submission is waited for before a step is reported, so a
//! cancelled call leaves nothing running and the engine stays usable.

use std::ops::ControlFlow;

use crate::error::{Error, Result};

/// A progress callback: `progress(done, total, stage)` after each step (`done` rises to `total`;
/// `stage` says what was just finished). Return `ControlFlow::Break(())` to cancel.
pub type Progress<'a> = dyn FnMut(usize, usize, &str) -> ControlFlow<()> + 'a;

/// A callback that never cancels, for the calls without progress.
pub(crate) fn ignore(_: usize, _: usize, _: &str) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

/// Counts the steps of one call and turns the callback's `Break` into [`Error::Cancelled`].
/// A call made of parts (merge, then develop) gives each part a window of the whole count via
/// [`Steps::part`], so the fractions the caller sees only rise.
pub(crate) struct Steps<'a, 'b> {
    callback: &'a mut Progress<'b>,
    /// Steps reported before this part, and the whole call's total.
    offset: usize,
    total: usize,
    done: usize,
}

impl<'a, 'b> Steps<'a, 'b> {
    /// A call of `total` steps.
    pub fn new(callback: &'a mut Progress<'b>, total: usize) -> Self {
        Steps {
            callback,
            offset: 0,
            total,
            done: 0,
        }
    }

    /// One step finished: report it; `Err(Cancelled)` if the caller asked to stop.
    pub fn step(&mut self, stage: &str) -> Result<()> {
        self.done += 1;
        let done = (self.offset + self.done).min(self.total);
        match (self.callback)(done, self.total, stage) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(()) => Err(Error::Cancelled),
        }
    }

    /// The callback, for a nested part that reports `(done, total)` of its own: its steps are
    /// mapped into this call's count starting after the steps reported so far, `len` long.
    pub fn part<'c>(&'c mut self, len: usize) -> Box<Progress<'c>>
    where
        'b: 'c,
    {
        let start = self.offset + self.done;
        self.done += len;
        let total = self.total;
        let callback = &mut *self.callback;
        Box::new(move |done: usize, part_total: usize, stage: &str| {
            // A part that counts differently from `len` is scaled into its window.
            let d = if part_total == 0 {
                len
            } else {
                (done * len).div_ceil(part_total.max(1))
            };
            callback((start + d.min(len)).min(total), total, stage)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_report_one_rising_count_and_break_cancels() {
        let mut seen = Vec::new();
        let mut cb = |d: usize, t: usize, _: &str| {
            seen.push((d, t));
            ControlFlow::Continue(())
        };
        let mut steps = Steps::new(&mut cb, 7);
        steps.step("first").unwrap();
        {
            // A part of 4 steps that counts to 2 of its own: scaled into its window.
            let mut part = steps.part(4);
            assert!(part(1, 2, "a").is_continue());
            assert!(part(2, 2, "b").is_continue());
        }
        let mut part = steps.part(2);
        for d in 1..=5 {
            assert!(part(d, 5, "c").is_continue());
        }
        drop(part);
        assert_eq!(seen[..3], [(1, 7), (3, 7), (5, 7)]);
        assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "{seen:?}");
        assert_eq!(*seen.last().unwrap(), (7, 7));

        let mut stop = |_: usize, _: usize, _: &str| ControlFlow::Break(());
        let mut steps = Steps::new(&mut stop, 3);
        assert!(matches!(steps.step("x"), Err(Error::Cancelled)));
    }
}
