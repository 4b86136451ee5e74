//! Independent plan checker (being written).
