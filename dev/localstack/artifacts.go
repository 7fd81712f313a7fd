package localstack

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"time"

	"integration-dr/dev/armstandin"
	"integration-dr/dev/sqlstandin"
	"integration-dr/drift"
	"integration-dr/mssql"
)

// The demo's B2B artifacts and SSIS definitions, and the drift the demo shows.
const (
	ArtifactMap         = "OrdersToSAP"
	ArtifactCertificate = "Fabrikam-AS2-Public"
	ArtifactBatch       = "OrdersBatch"
	SSISPipeline        = "RunNightlyLoad"
	SSISAgentJob        = "SSIS nightly load"
	// DriftMap and DriftTrigger are what MakeDrift puts on the primary side only.
	DriftMap     = "InvoicesToSAP"
	DriftTrigger = "weekly-reload"
)

// SeedArtifacts puts the same B2B artifacts on both accounts of the demo pair, as a
// pair set up by the guide holds them: a partner for Contoso, Fabrikam, and every
// partner the accounts' agreements name (so seed agreements first); two schemas; one
// map; one certificate without a private key; one batch configuration.
func SeedArtifacts(arm *armstandin.Server) error {
	pub, err := publicCertificate("fabrikam.example")
	if err != nil {
		return err
	}
	partners := []string{"Contoso", "Fabrikam"}
	for _, raw := range arm.Artifacts(PrimaryGroup, PrimaryAcct, drift.Agreement) {
		var ag struct{ HostPartner, GuestPartner string }
		if json.Unmarshal(raw, &ag) == nil {
			for _, p := range []string{ag.HostPartner, ag.GuestPartner} {
				if p != "" && !slices.Contains(partners, p) {
					partners = append(partners, p)
				}
			}
		}
	}
	type artifact struct {
		kind  drift.Kind
		name  string
		props any
	}
	var arts []artifact
	for _, p := range partners {
		arts = append(arts, artifact{drift.Partner, p, map[string]any{
			"partnerType": "B2B",
			"content":     map[string]any{"b2b": map[string]any{"businessIdentities": []any{map[string]any{"qualifier": "ZZ", "value": identityOf(p)}}}},
		}})
	}
	for _, tx := range []string{"850", "810"} {
		name := "X12_00401_" + tx
		arts = append(arts, artifact{drift.Schema, name, map[string]any{
			"schemaType": "Xml", "contentType": "application/xml", "documentName": name,
			"targetNamespace": "http://schemas.microsoft.com/BizTalk/EDI/X12/2006",
			"content":         `<?xml version="1.0"?><xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://schemas.microsoft.com/BizTalk/EDI/X12/2006"><xs:element name="` + name + `"/></xs:schema>`,
		}})
	}
	arts = append(arts,
		artifact{drift.Map, ArtifactMap, xsltMap("Orders")},
		artifact{drift.Certificate, ArtifactCertificate, map[string]any{"publicCertificate": pub}},
		artifact{drift.BatchConfiguration, ArtifactBatch, map[string]any{
			"batchGroupName":  "Orders",
			"releaseCriteria": map[string]any{"messageCount": 100, "recurrence": map[string]any{"frequency": "Hour", "interval": 1}},
		}},
	)
	for _, side := range [][2]string{{PrimaryGroup, PrimaryAcct}, {SecondaryGroup, SecondaryAcct}} {
		for _, a := range arts {
			if err := arm.PutArtifact(side[0], side[1], a.kind, a.name, a.props); err != nil {
				return fmt.Errorf("seed %s %s: %w", a.kind, a.name, err)
			}
		}
	}
	return nil
}

// SeedSSISArtifacts gives each side of the demo SSIS pair (seed it with SeedSSIS
// first) the same definitions: a pipeline running the nightly package on the side's
// own runtime, the pair's trigger (SSISTrigger) starting it — started on the primary,
// stopped on the secondary — and an Agent job on the pair's schedule (SSISSchedule),
// enabled on the primary and disabled on the secondary.
func SeedSSISArtifacts(arm *armstandin.Server, sql *sqlstandin.Server) error {
	for i, s := range SSISSides {
		primary := i == 0
		if err := arm.PutPipeline(s.Group, s.Factory, SSISPipeline, ssisPipeline(s.IR)); err != nil {
			return err
		}
		state := "Stopped"
		if primary {
			state = "Started"
		}
		if err := arm.PutTriggerDefinition(s.Group, s.Factory, SSISTrigger, state, scheduleTrigger("Day", SSISAnnotation)); err != nil {
			return err
		}
		if err := sql.PutJob(s.Endpoint, agentJob(primary)); err != nil {
			return err
		}
	}
	return nil
}

// MakeDrift makes the drift the demo shows: a map on the primary account only, and a
// trigger of the SSIS pipeline on the primary factory only.
func MakeDrift(arm *armstandin.Server) error {
	if err := arm.PutArtifact(PrimaryGroup, PrimaryAcct, drift.Map, DriftMap, xsltMap("Invoices")); err != nil {
		return err
	}
	p := SSISSides[0]
	return arm.PutTriggerDefinition(p.Group, p.Factory, DriftTrigger, "Started", scheduleTrigger("Week", ""))
}

func identityOf(partner string) string {
	if partner == "Contoso" {
		return "CONTOSO" // the host identity the agreements use
	}
	return partner
}

func xsltMap(root string) map[string]any {
	return map[string]any{
		"mapType": "Xslt", "contentType": "application/xml",
		"content": `<?xml version="1.0"?><xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:template match="/"><` + root + `/></xsl:template></xsl:stylesheet>`,
	}
}

// ssisPipeline runs the nightly package from SSISDB on runtime ir.
func ssisPipeline(ir string) map[string]any {
	return map[string]any{
		"parameters": map[string]any{"runDate": map[string]any{"type": "String", "defaultValue": "@utcnow()"}},
		"activities": []any{map[string]any{
			"name": "Load DW", "type": "ExecuteSSISPackage",
			"policy": map[string]any{"timeout": "0.12:00:00", "retry": 1, "retryIntervalInSeconds": 300},
			"typeProperties": map[string]any{
				"packageLocation":   map[string]any{"type": "SSISDB", "packagePath": "DW/NightlyLoad/Load.dtsx"},
				"connectVia":        map[string]any{"referenceName": ir, "type": "IntegrationRuntimeReference"},
				"loggingLevel":      "Basic",
				"projectParameters": map[string]any{"RunDate": map[string]any{"value": "@pipeline().parameters.runDate"}},
			},
		}},
	}
}

// scheduleTrigger starts SSISPipeline every day or week at 02:00 UTC.
func scheduleTrigger(frequency, annotation string) map[string]any {
	t := map[string]any{
		"type": "ScheduleTrigger",
		"typeProperties": map[string]any{"recurrence": map[string]any{
			"frequency": frequency, "interval": 1, "startTime": "2026-01-01T02:00:00Z", "timeZone": "UTC",
		}},
		"pipelines": []any{map[string]any{"pipelineReference": map[string]any{"referenceName": SSISPipeline, "type": "PipelineReference"}}},
	}
	if annotation != "" {
		t["annotations"] = []any{annotation}
	}
	return t
}

// agentJob runs the nightly package from SQL Agent at 02:00 on SSISSchedule.
func agentJob(enabled bool) mssql.AgentJob {
	return mssql.AgentJob{
		Name: SSISAgentJob, Enabled: true, Category: "SSIS", StartStep: 1,
		Description: "Runs the nightly warehouse load where SSISDB is primary.",
		Steps: []mssql.JobStep{{
			ID: 1, Name: "Run Load.dtsx", Subsystem: "SSIS", Database: "master", OnSuccess: 1, OnFail: 2, Retries: 1, RetryMinute: 5,
			Command: `/ISSERVER "\"\SSISDB\DW\NightlyLoad\Load.dtsx\"" /SERVER "\".\"" /Par "\"$ServerOption::SYNCHRONIZED(Boolean)\"";True /CALLERINFO SQLAGENT /REPORTING E`,
		}},
		Schedules: []mssql.JobSchedule{{
			Name: SSISSchedule, Enabled: enabled, FreqType: 4, FreqInterval: 1, FreqSubdayType: 1,
			ActiveStartDate: 20260101, ActiveEndDate: 99991231, ActiveStartTime: 20000, ActiveEndTime: 235959,
		}},
	}
}

// publicCertificate is a self-signed certificate's public part, base64 DER as the
// API holds it: a partner's certificate, without a private key.
func publicCertificate(cn string) (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	notBefore := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2026), Subject: pkix.Name{CommonName: cn, Organization: []string{"Fabrikam"}}, NotBefore: notBefore, NotAfter: notBefore.AddDate(2, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}
