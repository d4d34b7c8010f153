package dsr

import (
	"bytes"
	"fmt"
	"html"
)

// channelTexts name the channels to a person.
var channelTexts = map[Channel]Text{
	ChannelEmail: {LangDE: "E-Mail", LangEN: "e-mail"},
	ChannelPost:  {LangDE: "Post", LangEN: "post"},
	ChannelPhone: {LangDE: "Telefon", LangEN: "phone"},
	ChannelSMS:   {LangDE: "SMS", LangEN: "SMS"},
}

// consentTexts are the words of the report's consent table.
var consentTexts = map[string]Text{
	"heading":        {LangDE: "Einwilligung je Kanal", LangEN: "Consent per channel"},
	"channel":        {LangDE: "Kanal", LangEN: "Channel"},
	"state":          {LangDE: "Einwilligung", LangEN: "Consent"},
	"since":          {LangDE: "Seit", LangEN: "Since"},
	ConsentGiven:     {LangDE: "erteilt", LangEN: "given"},
	ConsentWithdrawn: {LangDE: "widerrufen", LangEN: "withdrawn"},
	ConsentNone:      {LangDE: "nicht erteilt", LangEN: "not given"},
}

// writeConsentsHTML writes a record's consent per channel: each channel,
// given, withdrawn or not given, and since when.
func writeConsentsHTML(b *bytes.Buffer, cs []ChannelState, t reportText) {
	if len(cs) == 0 {
		return
	}
	e, w := html.EscapeString, func(k string) string { return consentTexts[k].In(t.lang) }
	fmt.Fprintf(b, "<table class=\"consents\"><caption>%s</caption><tr><th>%s</th><th>%s</th><th>%s</th></tr>\n",
		e(w("heading")), e(w("channel")), e(w("state")), e(w("since")))
	for _, c := range cs {
		since := ""
		if c.Since != nil {
			since = reportDate(*c.Since, t)
		}
		fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td><td>%s</td></tr>\n", e(channelTexts[c.Channel].In(t.lang)), e(w(c.State)), since)
	}
	b.WriteString("</table>\n")
}
