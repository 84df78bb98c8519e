//! Who is subscribed to what.
pub mod patterns;
pub use patterns::PatternIndex;
