package report

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/scan"
)

// The DDEX DSR flat file (Digital Sales Reporting, flat-file variant),
// UGC profile 1.2: what a platform of user uploads reports to a rights
// organisation, written here from what cueprint heard in the platform's
// items rather than from the platform's metadata.
//
// Layout (tab-separated cells, LF lines, "|" between the values of a
// multi-value cell):
//
//	HEAD     message: profile UGCProfile 1.2, sender, recipient, period
//	SY02.02  one summary per territory of the items (Worldwide when an
//	         item names none): usages = the items' views
//	block    one per (item, work) with confirmed uses, in list order, then
//	         work id:
//	  AS02.02  the work as a resource: id, ISRC, title, duration, ISWC,
//	           composers and publishers from its owners' roles
//	  RU02.01  the item as the release that used it: id, title, URL, views
//	  SU03.02  the usage: SalesTransactionId = the first usage line's id
//	           (stable, so a claim back can name it), views as usages,
//	           revenue 0 (cueprint knows no money), the item's period
//	  LI01.02  one per owner: its share of the work, the views it is due
//	FOOT     line, summary and block counts
//
// Cells follow the profile's record definitions (../shared/formats and
// DDEX's validator check them): empty optional cells stay in place,
// durations are ISO 8601 (PT3M12.5S), dates YYYY-MM-DD.

// DSROptions are what a DSR needs beyond the usage lines: the parties,
// the message's identity and time, and the commercial context.
type DSROptions struct {
	// SenderPartyID and RecipientPartyID are DDEX Party IDs (PADPIDA +
	// 10 characters + an ISO 7064 MOD 37,36 check character).
	SenderPartyID, SenderName       string
	RecipientPartyID, RecipientName string
	// ServiceDescription names the platform's service (SY02.02, and the
	// file name).
	ServiceDescription string
	// MessageID must never be reused by the sender; "" derives it from
	// the scans' ids.
	MessageID string
	// Created is the message's creation time (HEAD), the one clock value
	// of a report.
	Created time.Time
	// Start and End (YYYY-MM-DD) are the usage period; "" takes the
	// items' earliest start and latest end.
	Start, End string
	// Currency of the (zero) revenue cells; CommercialModel and UseType
	// are DDEX allowed values.
	Currency, CommercialModel, UseType string
}

// DefaultDSROptions are the commercial context of a UGC platform's
// advertising-funded streams.
func DefaultDSROptions() DSROptions {
	return DSROptions{Currency: "EUR", CommercialModel: "AdvertisementSupportedModel", UseType: "OnDemandStream", ServiceDescription: "UGC"}
}

var (
	partyIDRe  = regexp.MustCompile(`^PADPIDA[0-9A-Z]{11}$`)
	currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)
)

// ValidPartyID reports whether id is a DDEX Party ID with a correct
// check character.
func ValidPartyID(id string) bool {
	return partyIDRe.MatchString(id) && mod3736(id[:17]) == id[17]
}

// mod3736 computes the ISO 7064 MOD 37,36 check character of s (digits
// and upper-case letters).
func mod3736(s string) byte {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	p := 36
	for i := 0; i < len(s); i++ {
		v := strings.IndexByte(alphabet, s[i])
		p = (p + v) % 36
		if p == 0 {
			p = 36
		}
		p = p * 2 % 37
	}
	return alphabet[(37-p)%36]
}

// Validate checks the options.
func (o DSROptions) Validate() error {
	var errs []error
	if !ValidPartyID(o.SenderPartyID) {
		errs = append(errs, fmt.Errorf("sender party id %q is not a DDEX Party ID (PADPIDA + 10 characters + check character)", o.SenderPartyID))
	}
	if o.RecipientPartyID != "" && !ValidPartyID(o.RecipientPartyID) {
		errs = append(errs, fmt.Errorf("recipient party id %q is not a DDEX Party ID", o.RecipientPartyID))
	}
	if strings.TrimSpace(o.SenderName) == "" {
		errs = append(errs, errors.New("sender name is required"))
	}
	if !currencyRe.MatchString(o.Currency) {
		errs = append(errs, fmt.Errorf("currency %q is not an ISO 4217 code", o.Currency))
	}
	if o.Created.IsZero() {
		errs = append(errs, errors.New("creation time is required"))
	}
	for _, d := range []string{o.Start, o.End} {
		if _, err := time.Parse(time.DateOnly, d); d != "" && err != nil {
			errs = append(errs, fmt.Errorf("period date %q is not YYYY-MM-DD", d))
		}
	}
	return errors.Join(errs...)
}

// eachBlock calls fn with the first counted line of every block, an
// (item, work) pair, in the DSR's order: scan id, item line, work id,
// tenant. An item's lines are read together, so only one item's blocks
// are held at a time.
func (in Input) eachBlock(fn func(u api.Usage) error) error {
	scans := slices.Clone(in.Scans)
	slices.SortStableFunc(scans, func(a, b scan.Results) int { return cmp.Compare(a.Scan.ID, b.Scan.ID) })
	var item []api.Usage // the item's first line of each work
	flush := func() error {
		slices.SortStableFunc(item, func(x, y api.Usage) int {
			return cmp.Or(cmp.Compare(x.WorkID, y.WorkID), cmp.Compare(x.Tenant, y.Tenant))
		})
		for _, u := range item {
			if err := fn(u); err != nil {
				return err
			}
		}
		item = item[:0]
		return nil
	}
	sorted := Input{Scans: scans, Filter: in.Filter, Potential: in.Potential}
	err := sorted.each(true, func(u api.Usage) error {
		if len(item) > 0 && (item[0].ScanID != u.ScanID || item[0].Line != u.Line) {
			if err := flush(); err != nil {
				return err
			}
		}
		if !slices.ContainsFunc(item, func(x api.Usage) bool { return x.WorkID == u.WorkID && x.Tenant == u.Tenant }) {
			item = append(item, u)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// WriteDSR writes the input's counted usage lines as a UGC profile DSR.
// It returns the file name the DSR naming convention gives it.
func WriteDSR(w io.Writer, in Input, o DSROptions) (string, error) {
	if err := o.Validate(); err != nil {
		return "", err
	}
	// The service description is also an element of the file name, and
	// the validator holds the two equal.
	o.ServiceDescription = nameElem(o.ServiceDescription)
	// First pass: the period, the territories' views and the blocks.
	start, end := o.Start, o.End
	territories := map[string]int64{}
	nBlocks := 0
	err := in.eachBlock(func(u api.Usage) error {
		if o.Start == "" && u.PeriodStart != "" && (start == "" || u.PeriodStart < start) {
			start = u.PeriodStart
		}
		if o.End == "" && u.PeriodEnd > end {
			end = u.PeriodEnd
		}
		territories[territoryOf(u)] += u.Views
		nBlocks++
		return nil
	})
	if err != nil {
		return "", err
	}
	if start == "" {
		start = o.Created.UTC().Format(time.DateOnly)
	}
	if end == "" {
		end = start
	}
	terrs := make([]string, 0, len(territories))
	for t := range territories {
		terrs = append(terrs, t)
	}
	slices.Sort(terrs)
	if len(terrs) == 0 {
		terrs = []string{"Worldwide"}
	}
	summaryID := map[string]string{}
	for i, t := range terrs {
		summaryID[t] = "SR" + strconv.Itoa(i+1)
	}
	msgID := o.MessageID
	if msgID == "" {
		var ids []string
		for _, r := range in.Scans {
			ids = append(ids, r.Scan.ID)
		}
		msgID = "cueprint-" + strings.Join(ids, "-")
		if len(msgID) > 200 {
			msgID = msgID[:200]
		}
	}

	bw := bufio.NewWriter(w)
	nLines := 0
	rec := func(cells ...string) {
		for i, c := range cells {
			if i > 0 {
				bw.WriteByte('\t')
			}
			bw.WriteString(c)
		}
		bw.WriteByte('\n')
		nLines++
	}
	rec("HEAD", "dsrf/1.1.2/1.6/1.2", "UGCProfile", "1.2", cell(msgID), o.Created.UTC().Format(time.RFC3339), "1", "1",
		start, end, o.SenderPartyID, cell(o.SenderName), cell(o.ServiceDescription), o.RecipientPartyID, cell(o.RecipientName), "")
	for _, t := range terrs {
		// RecordType, SummaryRecordId, DistributionChannel, DistributionChannelDPID, CommercialModel, UseType,
		// Territory, ServiceDescription, Usages, Users, CurrencyOfReporting, NetRevenue, RightsController,
		// RightsControllerPartyId, AllocatedUsages, AllocatedRevenue, AllocatedNetRevenue, RightsType,
		// ContentCategory, CurrencyOfTransaction, ExchangeRate, RightsTypePercentage
		rec("SY02.02", summaryID[t], "", "", o.CommercialModel, o.UseType, t, cell(o.ServiceDescription),
			strconv.FormatInt(territories[t], 10), "", o.Currency, "0", "", "", "", "", "", "", "UserCreatedContent", "", "", "")
	}
	// Second pass: a block's records.
	bi := 0
	err = in.eachBlock(func(u api.Usage) error {
		bi++
		blockID := strconv.Itoa(bi)
		sr := summaryID[territoryOf(u)]
		title := cmp.Or(u.WorkTitle, u.WorkID)
		resType := "SoundRecording"
		if u.ISAN != "" || u.EIDR != "" {
			resType = "Video"
		}
		// RecordType, BlockId, ResourceReference, DspResourceId, ISRC, Title, SubTitle, DisplayArtistName,
		// DisplayArtistPartyId, Duration, ResourceType, ISWC, ComposerAuthor, ComposerAuthorPartyId, Arranger,
		// ArrangerPartyId, MusicPublisher, MusicPublisherPartyId, WorkContributor, WorkContributorPartyId,
		// ProprietaryWorkId, IsMasterRecording
		rec("AS02.02", blockID, "R1", cell(u.WorkID), u.ISRC, cell(title), "", cell(cmp.Or(ownersByRole(u.Owners, "artist", "performer", "label"), "Unknown")),
			"", isoDuration(u.WorkDurationS), resType, u.ISWC, ownersByRole(u.Owners, "composer", "author", "writer", "lyricist", "composer/author"), "", "", "",
			ownersByRole(u.Owners, "publisher"), "", "", "", "", "")
		// RecordType, BlockId, SummaryRecordId, DspReleaseId, ReleaseTitle, ReleaseURL, Usages, ContentCategory
		rec("RU02.01", blockID, sr, cell(u.ItemID), cell(cmp.Or(u.ItemTitle, u.ItemID)), cell(u.Media), strconv.FormatInt(u.Views, 10), "UserCreatedContent")
		// RecordType, BlockId, SalesTransactionId, SummaryRecordId, DspResourceId, Usages, NetRevenue,
		// ValidityPeriodStart, ValidityPeriodEnd, ContentCategory, IsRoyaltyBearing
		rec("SU03.02", blockID, u.ID, sr, cell(u.WorkID), strconv.FormatInt(u.Views, 10), "0", u.PeriodStart, u.PeriodEnd, "UserCreatedContent", "true")
		for _, ow := range u.Owners {
			// RecordType, BlockId, SummaryRecordId, RightsController, RightsControllerPartyId,
			// RightsControllerWorkId, RightSharePercentage, RightsType, AllocatedNetRevenue, AllocatedAmount,
			// AllocatedUsages
			rec("LI01.02", blockID, sr, cell(ow.Name), "", cell(u.WorkID), num(ow.Share), "", "0", "0", num(float64(u.Views)*ow.Share/100))
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if bi != nBlocks {
		return "", fmt.Errorf("dsr: %d blocks on the second pass, %d on the first", bi, nBlocks)
	}
	nLines++ // FOOT itself
	rec("FOOT", strconv.Itoa(nLines), strconv.Itoa(nLines), strconv.Itoa(len(terrs)), strconv.Itoa(nBlocks), strconv.Itoa(nBlocks))
	if err := bw.Flush(); err != nil {
		return "", err
	}
	fileTerr := "Worldwide"
	if len(terrs) == 1 {
		fileTerr = terrs[0]
	}
	period := start + "--" + end
	name := fmt.Sprintf("DSR_%s_%s_%s_%s_%s_1of1_%s.tsv", nameElem(o.RecipientPartyID), nameElem(o.SenderPartyID),
		nameElem(o.ServiceDescription), period, fileTerr, o.Created.UTC().Format("20060102T150405"))
	return name, nil
}

func territoryOf(u api.Usage) string { return cmp.Or(u.Territory, "Worldwide") }

// ownersByRole joins the names of the owners whose role is one of roles
// (case-insensitive) as a multi-value cell.
func ownersByRole(os []api.Owner, roles ...string) string {
	var names []string
	for _, o := range os {
		if slices.Contains(roles, strings.ToLower(o.Role)) {
			names = append(names, cell(o.Name))
		}
	}
	return strings.Join(names, "|")
}

// cell escapes a single value: a backslash, a tab and a "|" are escaped
// with a backslash; line breaks become spaces.
func cell(s string) string {
	if !strings.ContainsAny(s, "\\\t|\n\r") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '\t', '|':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isoDuration prints seconds as an ISO 8601 duration (PT1H2M3.5S); ""
// for none.
func isoDuration(s float64) string {
	if s <= 0 {
		return ""
	}
	ms := int64(math.Round(s * 1000))
	h, m := ms/3600000, ms/60000%60
	sec := float64(ms%60000) / 1000
	var b strings.Builder
	b.WriteString("PT")
	if h > 0 {
		fmt.Fprintf(&b, "%dH", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dM", m)
	}
	if sec > 0 || h == 0 && m == 0 {
		b.WriteString(strconv.FormatFloat(sec, 'f', -1, 64) + "S")
	}
	return b.String()
}

// nameElem makes s an element of a DSR file name: no "_" or spaces.
func nameElem(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == ' ' || r == '/' || r == '\\' {
			return -1
		}
		return r
	}, s)
}
