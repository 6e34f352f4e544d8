//! The $10M advertising-credit pool (issue 12). Built piece by piece; so far: [`voucher`], the
//! codes a grant carries, and [`crate::domain::Ein`], which tells one business from another.

pub mod voucher;
