package reports

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Column kinds.
const (
	KindCount = "count" // a number of cases, instances or referrals: protected cell
	KindShare = "share" // a ratio of count columns of the same row
	KindHours = "hours" // a median or percentile of durations, in hours
)

// Column is a column of a table.
type Column struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Share columns: sum(Num) / sum(Den), count columns of the same row.
	Num []string `json:"numerator,omitempty"`
	Den []string `json:"denominator,omitempty"`
}

// RowSum says that in every row the Total column is the sum of Parts.
type RowSum struct {
	Total string   `json:"total"`
	Parts []string `json:"parts"`
}

// Nesting says that each row of this table belongs to a row of another
// table (named by the row's attribute By), whose counts are the sums of its
// rows' counts.
type Nesting struct {
	Table string `json:"table"`
	By    string `json:"by"`
}

// Attr is an extra attribute of a row (e.g. the type of an agency).
type Attr struct {
	Name, Value string
}

// Value is a published number; invalid values are JSON null and empty in CSV.
type Value struct {
	V     float64
	Valid bool
}

// MarshalJSON writes the number or null.
func (v Value) MarshalJSON() ([]byte, error) {
	if !v.Valid {
		return []byte("null"), nil
	}
	return []byte(strconv.FormatFloat(v.V, 'f', -1, 64)), nil
}

func (v Value) String() string {
	if !v.Valid {
		return ""
	}
	return strconv.FormatFloat(v.V, 'f', -1, 64)
}

// Row is one row of a table.
type Row struct {
	Key   string
	Attrs []Attr
	// Values in column order, set when the report is protected.
	Values []Value

	// id names the row in lists of suppressed cells when Key is not unique.
	id string
	// ns and at place the row's counts in their report's cube (cube.go).
	ns     string
	at     coord
	counts map[string]int      // count column → protector cell
	hours  map[string]hoursVal // hours column → raw value and the instances behind it
}

type hoursVal struct {
	v  float64
	ok bool
	n  int64
}

func newRow(key string, attrs ...Attr) *Row {
	return &Row{Key: key, Attrs: attrs, counts: map[string]int{}, hours: map[string]hoursVal{}}
}

// Attr returns the value of an attribute.
func (r *Row) Attr(name string) string {
	for _, a := range r.Attrs {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// Get returns the value of a column.
func (r *Row) Get(t *Table, col string) Value {
	i := t.column(col)
	if i < 0 || i >= len(r.Values) {
		return Value{}
	}
	return r.Values[i]
}

// Suppression says that a published cell was withheld, and why.
type Suppression struct {
	Row    string `json:"row"`
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// Table is a protected table: rows of one dimension and a total row.
type Table struct {
	ID        string
	Group     string
	Title     string
	Dimension string
	Columns   []Column
	RowSums   []RowSum
	Nested    *Nesting
	// Conservative marks a table whose rows may overlap (a case with several
	// types of exploitation): its column sums can exceed the total, and it is
	// protected as if they were equal.
	Conservative bool
	Rows         []*Row
	// Total is the row of totals; tables of one group share it.
	Total      *Row
	Suppressed []Suppression
}

func (t *Table) column(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Row returns the row with that key, or nil.
func (t *Table) Row(key string) *Row {
	for _, r := range t.Rows {
		if r.Key == key {
			return r
		}
	}
	return nil
}

// protectTables declares the relations the tables publish, protects, and
// fills every row's values and every table's list of withheld cells.
func protectTables(p *protector, tables []*Table) error {
	declareTables(p, tables)
	if err := p.protect(); err != nil {
		return err
	}
	fillTables(p, tables)
	return nil
}

// declareTables declares the relations the tables publish.
func declareTables(p *protector, tables []*Table) {
	byID := map[string]*Table{}
	for _, t := range tables {
		byID[t.ID] = t
		t.nameRows()
	}
	for _, t := range tables {
		rows := t.allRows()
		for _, c := range t.Columns {
			if c.Kind != KindCount || t.Total == nil {
				continue
			}
			var parts []int
			for _, r := range t.Rows {
				parts = append(parts, r.counts[c.Name])
			}
			if t.Conservative {
				p.overlapSum(t.Total.counts[c.Name], parts...)
			} else {
				p.sum(t.Total.counts[c.Name], parts...)
			}
		}
		for _, rs := range t.RowSums {
			for _, r := range rows {
				var parts []int
				for _, name := range rs.Parts {
					parts = append(parts, r.counts[name])
				}
				p.sum(r.counts[rs.Total], parts...)
			}
		}
		if t.Nested != nil {
			parent := byID[t.Nested.Table]
			if parent == nil {
				continue
			}
			for _, pr := range parent.Rows {
				for _, c := range t.Columns {
					if c.Kind != KindCount {
						continue
					}
					var parts []int
					for _, r := range t.Rows {
						if r.Attr(t.Nested.By) == pr.Key {
							parts = append(parts, r.counts[c.Name])
						}
					}
					p.sum(pr.counts[c.Name], parts...)
				}
			}
		}
	}
}

// fillTables computes the published values of protected tables.
func fillTables(p *protector, tables []*Table) {
	for _, t := range tables {
		t.Suppressed = []Suppression{}
		for _, r := range t.allRows() {
			t.fill(p, r)
		}
	}
}

// nameRows gives rows that share a key an id of their own, with the
// agency's ID (agency names are unique, but an agency may be named like
// the row of instances no agency owns, "unassigned"): the list of withheld
// cells, and an outsider reading the relations, must tell them apart, or
// two counts read as one with two values.
func (t *Table) nameRows() {
	seen := map[string]int{}
	for _, r := range t.Rows {
		seen[r.Key]++
	}
	for _, r := range t.Rows {
		if seen[r.Key] > 1 && r.id == "" {
			r.id = r.Key + " (" + r.Attr("agency_id") + ")"
		}
	}
}

func (t *Table) allRows() []*Row {
	rows := append([]*Row(nil), t.Rows...)
	if t.Total != nil {
		rows = append(rows, t.Total)
	}
	return rows
}

func rowName(t *Table, r *Row) string {
	if r == t.Total {
		return "total"
	}
	if r.id != "" {
		return r.id
	}
	return r.Key
}

// fill computes a row's published values.
func (t *Table) fill(p *protector, r *Row) {
	r.Values = make([]Value, len(t.Columns))
	anySuppressed := false
	for _, c := range t.Columns {
		if c.Kind == KindCount && p.suppressed(r.counts[c.Name]) {
			anySuppressed = true
		}
	}
	note := func(col, reason string) {
		t.Suppressed = append(t.Suppressed, Suppression{Row: rowName(t, r), Column: col, Reason: reason})
	}
	for i, c := range t.Columns {
		switch c.Kind {
		case KindCount:
			cell := r.counts[c.Name]
			if p.suppressed(cell) {
				note(c.Name, p.reason(cell))
				continue
			}
			r.Values[i] = Value{V: float64(p.vals[cell]), Valid: true}
		case KindShare:
			var num, den int64
			for _, n := range c.Num {
				num += p.vals[r.counts[n]]
			}
			for _, d := range c.Den {
				den += p.vals[r.counts[d]]
			}
			if den == 0 {
				continue // undefined, not suppressed
			}
			// A share and the published cells of its row would give back a
			// suppressed count: withhold the share whenever a count of the
			// row is withheld.
			if anySuppressed {
				note(c.Name, reasonDerived)
				continue
			}
			r.Values[i] = Value{V: round(float64(num)/float64(den), 4), Valid: true}
		case KindHours:
			h := r.hours[c.Name]
			if !h.ok || h.n == 0 {
				continue
			}
			// The instances behind a time are counts of the row, or bound
			// them (met on time and late; accepts and declines; a service
			// answered at least as often as it accepted): "fewer than
			// threshold instances" would bound withheld counts, so a time
			// is withheld with any count of its row.
			if anySuppressed {
				note(c.Name, reasonDerived)
				continue
			}
			if h.n < p.threshold {
				note(c.Name, reasonFewInstances(p.threshold))
				continue
			}
			r.Values[i] = Value{V: round(h.v, 2), Valid: true}
		}
	}
}

func round(v float64, places int) float64 {
	f := math.Pow10(places)
	return math.Round(v*f) / f
}

// MarshalJSON writes the table with rows as objects keyed by the dimension
// and the column names, in column order.
func (t *Table) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"id":`)
	writeJSON(&b, t.ID)
	b.WriteString(`,"group":`)
	writeJSON(&b, t.Group)
	b.WriteString(`,"title":`)
	writeJSON(&b, t.Title)
	b.WriteString(`,"dimension":`)
	writeJSON(&b, t.Dimension)
	b.WriteString(`,"columns":`)
	writeJSON(&b, t.Columns)
	if len(t.RowSums) > 0 {
		b.WriteString(`,"row_sums":`)
		writeJSON(&b, t.RowSums)
	}
	if t.Nested != nil {
		b.WriteString(`,"nested_in":`)
		writeJSON(&b, t.Nested)
	}
	if t.Conservative {
		b.WriteString(`,"overlapping_rows":true`)
	}
	b.WriteString(`,"rows":[`)
	for i, r := range t.Rows {
		if i > 0 {
			b.WriteByte(',')
		}
		t.writeRow(&b, r, true)
	}
	b.WriteString(`],"total":`)
	if t.Total != nil {
		t.writeRow(&b, t.Total, false)
	} else {
		b.WriteString("null")
	}
	b.WriteString(`,"suppressed":`)
	writeJSON(&b, t.Suppressed)
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (t *Table) writeRow(b *bytes.Buffer, r *Row, withKey bool) {
	b.WriteByte('{')
	first := true
	field := func(name string, v any) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeJSON(b, name)
		b.WriteByte(':')
		writeJSON(b, v)
	}
	if withKey {
		field(t.Dimension, r.Key)
		for _, a := range r.Attrs {
			field(a.Name, a.Value)
		}
	}
	for i, c := range t.Columns {
		var v Value
		if i < len(r.Values) {
			v = r.Values[i]
		}
		field(c.Name, v)
	}
	b.WriteByte('}')
}

func writeJSON(b *bytes.Buffer, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		data = []byte("null")
	}
	b.Write(data)
}

// CSV cells that come from data — agency names, keys, codes, reasons —
// are text a spreadsheet would run as a formula when it begins with =, +,
// -, @, a tab or a carriage return (OWASP, "CSV Injection"): csvText
// prefixes such a cell with a single quote, which makes a spreadsheet
// read it as text. Numbers the reports format themselves
// (Value.String) are written as they are: they are never formulas, and a
// negative number must stay a number. The rule goes by where a cell comes
// from, not by what it looks like: an agency named "-5" is text and gets
// its quote.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func csvTexts(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = csvText(s)
	}
	return out
}

// writeComments writes the # lines before a CSV's header, one line each
// whatever the text holds: a line break inside one would start a CSV line
// of its own.
func writeComments(w io.Writer, comments []string) error {
	for _, c := range comments {
		c = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(c)
		if _, err := fmt.Fprintf(w, "# %s\n", c); err != nil {
			return fmt.Errorf("write CSV comment: %w", err)
		}
	}
	return nil
}

// writeWideCSV writes tables that share their columns: one line per row,
// with the suppressed cells empty and named in the last column.
func writeWideCSV(w io.Writer, tables []*Table, comments ...string) error {
	cw := csv.NewWriter(w)
	if err := writeComments(w, comments); err != nil {
		return err
	}
	var cols []string
	var attrs []string
	for _, t := range tables {
		for _, c := range t.Columns {
			if !slices.Contains(cols, c.Name) {
				cols = append(cols, c.Name)
			}
		}
		for _, r := range t.Rows {
			for _, a := range r.Attrs {
				if !slices.Contains(attrs, a.Name) {
					attrs = append(attrs, a.Name)
				}
			}
		}
	}
	header := append([]string{"group", "dimension", "key"}, attrs...)
	header = append(header, cols...)
	header = append(header, "suppressed")
	if err := cw.Write(csvTexts(header)); err != nil {
		return fmt.Errorf("write CSV header: %w", err)
	}
	for _, t := range tables {
		for _, r := range t.allRows() {
			rec := []string{csvText(t.Group), csvText(t.Dimension), csvText(rowName(t, r))}
			for _, a := range attrs {
				rec = append(rec, csvText(r.Attr(a)))
			}
			for _, c := range cols {
				rec = append(rec, r.Get(t, c).String())
			}
			var notes []string
			for _, s := range t.Suppressed {
				if s.Row == rowName(t, r) {
					notes = append(notes, s.Column+": "+s.Reason)
				}
			}
			rec = append(rec, csvText(strings.Join(notes, "; ")))
			if err := cw.Write(rec); err != nil {
				return fmt.Errorf("write CSV row %s of %s: %w", rowName(t, r), t.ID, err)
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeLongCSV writes tables of different columns: one line per cell.
func writeLongCSV(w io.Writer, tables []*Table, comments ...string) error {
	if err := writeComments(w, comments); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"group", "table", "dimension", "key", "measure", "value", "suppressed"}); err != nil {
		return fmt.Errorf("write CSV header: %w", err)
	}
	for _, t := range tables {
		reasons := map[[2]string]string{}
		for _, s := range t.Suppressed {
			reasons[[2]string{s.Row, s.Column}] = s.Reason
		}
		for _, r := range t.allRows() {
			name := rowName(t, r)
			for i, c := range t.Columns {
				var v Value
				if i < len(r.Values) {
					v = r.Values[i]
				}
				rec := []string{csvText(t.Group), csvText(t.ID), csvText(t.Dimension), csvText(name), csvText(c.Name),
					v.String(), csvText(reasons[[2]string{name, c.Name}])}
				if err := cw.Write(rec); err != nil {
					return fmt.Errorf("write CSV cell %s/%s of %s: %w", name, c.Name, t.ID, err)
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
