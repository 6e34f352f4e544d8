//! The $10M advertising-credit pool (issue 12). Built piece by piece; so far: [`voucher`], the
//! codes a grant carries.

pub mod voucher;
