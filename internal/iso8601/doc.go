// Package iso8601 parses the schedules Chronos 2.3 takes: ISO 8601
// repeating intervals R[n]/start/period (Iso8601Expressions.scala: the
// repetitions, empty for forever; a start date-time; a Joda standard
// period PnYnMnWnDTnHnMnS). Chronos reads an empty start as "now"; a
// bundle's schedules must be reproducible, so a start is required here.
package iso8601
